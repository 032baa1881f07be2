package storage_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/storage/storagetest"
)

// Put must stream: storing a 64 MB body may allocate a small, fixed amount,
// never an amount that grows with the file.
func TestPutDoesNotBufferBody(t *testing.T) {
	const size = 64 << 20
	const budget = 8 << 20

	local, err := storage.NewLocal(storage.LocalConfig{
		Dir: t.TempDir(), BaseURL: "http://127.0.0.1:1", Secret: []byte("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	s3, err := storage.NewS3(storagetest.VersityGW(t))
	if err != nil {
		t.Fatal(err)
	}

	for name, s := range map[string]storage.Store{"local": local, "s3": s3} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := s.Put(context.Background(), "mem/big.bin", storage.Pattern(size), size, "application/octet-stream"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		runtime.ReadMemStats(&after)
		allocated := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: Put of %d MiB allocated %.2f MiB in total", name, size>>20, float64(allocated)/(1<<20))
		if allocated > budget {
			t.Errorf("%s: Put allocated %d bytes for a %d-byte body; it is buffering", name, allocated, size)
		}
		if info, err := s.Stat(context.Background(), "mem/big.bin"); err != nil || info.Size != size {
			t.Fatalf("%s: Stat = %+v, %v", name, info, err)
		}
	}
}
