package storage

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/shared/ari"
)

// FreshURLs gives every ready attachment in atts a link from st, made now.
// Links from a private bucket (and the local store) are presigned and expire
// after FILE_URL_TTL, so whoever hands attachments to a client or an agent —
// a message fetch, a sync, an agent's task — calls this first instead of
// trusting the URL stored when the file was uploaded. Pending attachments
// get no link.
func FreshURLs(ctx context.Context, st Store, atts []ari.Attachment) error {
	for i := range atts {
		a := &atts[i]
		if a.Status != ari.AttachmentReady {
			a.URL, a.URLExpiresAt = "", nil
			continue
		}
		url, exp, err := st.URL(ctx, a.StorageKey)
		if err != nil {
			return err
		}
		a.URL, a.URLExpiresAt = url, nil
		if !exp.IsZero() {
			t := ari.T(exp)
			a.URLExpiresAt = &t
		}
	}
	return nil
}

// DeleteObjects removes every key, going on past failures so one bad key
// does not keep the others; it returns the failures joined.
func DeleteObjects(ctx context.Context, st Store, keys []string) error {
	var errs []error
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
