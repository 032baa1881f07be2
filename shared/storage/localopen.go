package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// A presigned upload to a Local store is open from PresignPut until the key
// is deleted: PresignPut leaves a marker at open/<key>, and Delete removes it
// with the object. The uploads function deletes the landing key when it
// completes (or rejects) an upload and the cleanup deletes abandoned ones, so
// a PUT to a link whose upload was completed, deleted or never presigned here
// is refused even while its signature is still valid. (On S3 such a late PUT
// succeeds until the link expires; the cleanup and the bucket's lifecycle
// rule remove what it leaves.)

func openPath(key string) string { return "open/" + key }

// markOpen records that a presigned upload to key may be made.
func (l *Local) markOpen(key string) error {
	if dir := path.Dir(key); dir != "." {
		if err := l.root.MkdirAll("open/"+dir, 0o750); err != nil {
			return fmt.Errorf("storage: create parent of open marker %q: %w", key, err)
		}
	}
	f, err := l.root.OpenFile(openPath(key), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("storage: open marker %q: %w", key, err)
	}
	return f.Close()
}

// isOpen reports whether a presigned upload to key is still accepted.
func (l *Local) isOpen(key string) bool {
	_, err := l.root.Stat(openPath(key))
	return err == nil
}

// closeUpload removes key's open marker; a missing one is fine.
func (l *Local) closeUpload(key string) error {
	if err := l.root.Remove(openPath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: close upload %q: %w", key, err)
	}
	return nil
}
