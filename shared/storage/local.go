package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// LocalConfig configures a Local store.
type LocalConfig struct {
	// Dir is the root directory; it is created when missing.
	Dir string
	// BaseURL is where LocalHandler is reachable, without a trailing slash
	// (for example http://localhost:3501); links are BaseURL/files/<key>.
	BaseURL string
	// Secret signs the links; at least 32 bytes. A key is derived from it,
	// so sharing the application secret does not reuse it directly.
	Secret []byte
	// URLTTL is how long a link from URL works; default DefaultURLTTL.
	URLTTL time.Duration
	// MaxPutSize, when positive, makes LocalHandler refuse presigned uploads
	// larger than this even when the signature is valid.
	MaxPutSize int64
}

// DefaultURLTTL is the lifetime of download links from URL unless configured.
const DefaultURLTTL = time.Hour

// maxPresignTTL matches S3's limit for SigV4 presigned URLs.
const maxPresignTTL = 7 * 24 * time.Hour

// Local is a Store in a directory. Objects live at objects/<key>, their
// metadata at meta/<key>.json; a key becomes visible when its metadata is
// renamed into place, which happens after the data is complete on disk.
// All file access goes through an os.Root, so no path (nor a symlink placed
// in the tree) can reach outside Dir.
type Local struct {
	root    *os.Root
	baseURL string
	signer  urlSigner
	urlTTL  time.Duration
	maxPut  int64
	now     func() time.Time
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating if needed) the directory store. Close releases it.
func NewLocal(cfg LocalConfig) (*Local, error) {
	if cfg.Dir == "" {
		return nil, errors.New("storage: local dir is required")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("storage: local URL secret must be at least 32 bytes")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("storage: local base URL %q must be http(s)", cfg.BaseURL)
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = DefaultURLTTL
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("storage: create local dir: %w", err)
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("storage: open local dir: %w", err)
	}
	for _, d := range []string{"objects", "meta", "tmp", "open"} {
		if err := root.MkdirAll(d, 0o750); err != nil {
			root.Close()
			return nil, fmt.Errorf("storage: create %s: %w", d, err)
		}
	}
	return &Local{
		root:    root,
		baseURL: base,
		signer:  newURLSigner(cfg.Secret),
		urlTTL:  cfg.URLTTL,
		maxPut:  cfg.MaxPutSize,
		now:     time.Now,
	}, nil
}

// Close releases the directory handle.
func (l *Local) Close() error { return l.root.Close() }

type localMeta struct {
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

func dataPath(key string) string { return "objects/" + key }
func metaPath(key string) string { return "meta/" + key + ".json" }

// Put writes the body to a temporary file, syncs it, renames it into
// place, then commits by renaming the metadata file into place.
func (l *Local) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error {
	if err := checkPut(key, size, contentType); err != nil {
		return err
	}
	if err := l.mkParents(key); err != nil {
		return err
	}
	meta, err := json.Marshal(localMeta{ContentType: contentType, Size: size})
	if err != nil {
		return err
	}
	dataTmp, err := l.writeTemp(&ctxReader{ctx: ctx, r: newExactReader(body, size)})
	if err != nil {
		return err
	}
	metaTmp, err := l.writeTemp(strings.NewReader(string(meta)))
	if err != nil {
		l.root.Remove(dataTmp)
		return err
	}
	if err := l.root.Rename(dataTmp, dataPath(key)); err != nil {
		l.root.Remove(dataTmp)
		l.root.Remove(metaTmp)
		return fmt.Errorf("storage: commit data: %w", err)
	}
	if err := l.root.Rename(metaTmp, metaPath(key)); err != nil {
		l.root.Remove(metaTmp)
		return fmt.Errorf("storage: commit metadata: %w", err)
	}
	return nil
}

func (l *Local) mkParents(key string) error {
	if dir := path.Dir(key); dir != "." {
		for _, p := range []string{"objects/" + dir, "meta/" + dir} {
			if err := l.root.MkdirAll(p, 0o750); err != nil {
				return fmt.Errorf("storage: create parent of %q: %w", key, err)
			}
		}
	}
	return nil
}

// writeTemp copies r into a new file under tmp/ and returns its name; on
// any failure the temporary file is gone.
func (l *Local) writeTemp(r io.Reader) (string, error) {
	var rnd [12]byte
	rand.Read(rnd[:])
	name := "tmp/" + hex.EncodeToString(rnd[:])
	f, err := l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", fmt.Errorf("storage: create temp file: %w", err)
	}
	_, err = io.Copy(f, r)
	if err == nil {
		if err = f.Sync(); err != nil {
			err = fmt.Errorf("storage: sync temp file: %w", err)
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("storage: close temp file: %w", cerr)
	}
	if err != nil {
		l.root.Remove(name)
		return "", err
	}
	return name, nil
}

func (l *Local) readMeta(key string) (localMeta, error) {
	var m localMeta
	raw, err := l.root.ReadFile(metaPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("storage: read metadata: %w", err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("storage: decode metadata of %q: %w", key, err)
	}
	return m, nil
}

// openFile opens the object for reading and checks that data and metadata
// agree (they can differ only while the key is being replaced).
func (l *Local) openFile(ctx context.Context, key string) (*os.File, Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	m, err := l.readMeta(key)
	if err != nil {
		return nil, Info{}, err
	}
	f, err := l.root.Open(dataPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, ErrNotFound
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("storage: open object: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("storage: stat object: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() != m.Size {
		f.Close()
		return nil, Info{}, fmt.Errorf("storage: object %q does not match its metadata", key)
	}
	return f, Info{Size: m.Size, ContentType: m.ContentType, ModTime: st.ModTime()}, nil
}

// Open returns the object's content; the returned reader is an *os.File
// and so also an io.ReadSeeker.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	f, info, err := l.openFile(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	return f, info, nil
}

// Stat describes the object.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	f, info, err := l.openFile(ctx, key)
	if err != nil {
		return Info{}, err
	}
	f.Close()
	return info, nil
}

// ReadHead returns up to n leading bytes.
func (l *Local) ReadHead(ctx context.Context, key string, n int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("storage: negative head length %d", n)
	}
	f, info, err := l.openFile(ctx, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, min(int64(n), info.Size))
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("storage: read head: %w", err)
	}
	return buf, nil
}

// Delete removes metadata first, so the key disappears at once, then data.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidKey(key); err != nil {
		return err
	}
	// The open marker goes first: once a key is deleted, no presigned PUT
	// can bring it back (see localopen.go).
	if err := l.closeUpload(key); err != nil {
		return err
	}
	for _, p := range []string{metaPath(key), dataPath(key)} {
		if err := l.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: delete %q: %w", key, err)
		}
	}
	return nil
}

// ctxReader stops a long copy when the caller gives up.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
