package uploads

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// An upload of the largest allowed file must stream: client, server, checks
// and storage together may allocate a small fixed amount, never an amount
// that grows with the file. Allocation is counted for the whole process
// (TotalAlloc counts every byte ever allocated, so a buffer that was freed
// again still shows), which makes this a bound on the peak as well.
func TestUploadOfMaxSizeDoesNotBufferTheFile(t *testing.T) {
	const max = 32 << 20
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, max)
			u := testenv.NewUser(t, e.db, "big")

			pr, pw := io.Pipe()
			mw := multipart.NewWriter(pw)
			written := make(chan error, 1)
			go func() { written <- writeTextPart(pw, mw, max) }()
			t.Cleanup(func() { pr.Close() })

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := e.do(http.MethodPost, "/api/uploads", u.Token, mw.FormDataContentType(), pr)
			runtime.ReadMemStats(&after)
			if err := <-written; err != nil {
				t.Fatal(err)
			}
			if r.status != http.StatusCreated || r.attachment(t).Size != max {
				t.Fatalf("upload: %d %s", r.status, r.body)
			}
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: uploading a %d MiB file allocated %.2f MiB in total (heap in use after: %.2f MiB)",
				backend, max>>20, float64(allocated)/(1<<20), float64(after.HeapAlloc)/(1<<20))
			if allocated > max/4 {
				t.Fatalf("allocated %d bytes for a %d-byte upload: the file is being buffered", allocated, max)
			}
		})
	}
}

// writeTextPart streams a text file of exactly size bytes as the "file"
// part, then ends the body (or fails it, so the reader never hangs).
func writeTextPart(pw *io.PipeWriter, mw *multipart.Writer, size int) error {
	w, err := mw.CreateFormFile("file", "big.txt")
	if err == nil {
		line := bytes.Repeat([]byte("0123456789abcdef"), 256)
		line[len(line)-1] = '\n'
		for left := size; left > 0 && err == nil; left -= len(line) {
			_, err = w.Write(line[:min(left, len(line))])
		}
	}
	if err == nil {
		err = mw.Close()
	}
	pw.CloseWithError(err)
	return err
}

// Completing a direct upload of the largest allowed file streams it back
// out of storage, through the checks and into its final key.
func TestCompleteOfMaxSizeDoesNotBufferTheFile(t *testing.T) {
	const max = 32 << 20
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, max)
			u := testenv.NewUser(t, e.db, "big-direct")
			p, r := e.presign(u.Token, "big.txt", "text/plain", max)
			if r.status != http.StatusCreated {
				t.Fatalf("presign: %d %s", r.status, r.body)
			}
			req, err := http.NewRequest(p.Upload.Method, p.Upload.URL, io.LimitReader(textStream{}, max))
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = max
			req.Header.Set("Content-Type", p.Upload.Headers["Content-Type"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("PUT: %d", resp.StatusCode)
			}

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r = e.do(http.MethodPost, "/api/uploads/"+p.AttachmentID+"/complete", u.Token, "", nil)
			runtime.ReadMemStats(&after)
			if r.status != http.StatusOK || r.attachment(t).Size != max {
				t.Fatalf("complete: %d %s", r.status, r.body)
			}
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: completing a %d MiB upload allocated %.2f MiB in total", backend, max>>20, float64(allocated)/(1<<20))
			if allocated > max/4 {
				t.Fatalf("allocated %d bytes to complete a %d-byte upload: the file is being buffered", allocated, max)
			}
		})
	}
}

// textStream is endless plain text.
type textStream struct{}

func (textStream) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "0123456789abcde\n"[i%16]
	}
	return len(p), nil
}
