package storage

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestValidKey(t *testing.T) {
	for _, key := range []string{"a", "u/123/01HZX-photo.png", "a_b-c.d/e", "x/y/z/file.tar.gz", strings.Repeat("k", MaxKeyLen)} {
		if err := ValidKey(key); err != nil {
			t.Errorf("ValidKey(%q) = %v", key, err)
		}
	}
	for _, key := range badKeys {
		if err := ValidKey(key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidKey(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
}

func TestExactReader(t *testing.T) {
	tests := []struct {
		name string
		src  io.Reader
		size int64
		want string
		err  error
	}{
		{"exact", strings.NewReader("hello"), 5, "hello", nil},
		{"exact one byte at a time", iotest.OneByteReader(strings.NewReader("hello")), 5, "hello", nil},
		{"exact with data and EOF together", iotest.DataErrReader(strings.NewReader("hello")), 5, "hello", nil},
		{"empty", strings.NewReader(""), 0, "", nil},
		{"short", strings.NewReader("hell"), 5, "", ErrSizeMismatch},
		{"long", strings.NewReader("hello!"), 5, "", ErrSizeMismatch},
		{"long one byte at a time", iotest.OneByteReader(strings.NewReader("hello!")), 5, "", ErrSizeMismatch},
		{"non-empty for zero", strings.NewReader("x"), 0, "", ErrSizeMismatch},
		{"source error", iotest.ErrReader(io.ErrClosedPipe), 5, "", io.ErrClosedPipe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			er := newExactReader(tc.src, tc.size)
			// Read only as far as a Content-Length-bound consumer would.
			var r io.Reader = io.LimitReader(er, tc.size)
			if tc.size == 0 {
				r = er // nothing reads zero bytes; Put probes these itself
			}
			got, err := io.ReadAll(r)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err == nil && string(got) != tc.want {
				t.Fatalf("read %q, want %q", got, tc.want)
			}
			if tc.err != nil && tc.size > 0 && int64(len(got)) == tc.size {
				t.Fatalf("a bad source still delivered all %d declared bytes", tc.size)
			}
			if errors.Is(tc.err, ErrSizeMismatch) != er.mismatch {
				t.Fatalf("mismatch flag = %v", er.mismatch)
			}
		})
	}
}
