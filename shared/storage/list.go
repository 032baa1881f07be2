package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// listDir is the folder a prefix lives in: "incoming/" is incoming itself,
// "incoming/ab" is incoming, "" the root.
func listDir(prefix string) string {
	if prefix == "" {
		return "."
	}
	if strings.HasSuffix(prefix, "/") {
		return strings.TrimSuffix(prefix, "/")
	}
	return path.Dir(prefix)
}

// List walks objects/ under the prefix's folder and takes each data file's
// modification time (a Put renames a complete file into place, so that is
// when its bytes were written). A data file without metadata (a Put or a
// Delete cut short) is listed too, so a cleanup can remove it.
func (l *Local) List(ctx context.Context, prefix string, olderThan time.Time) ([]string, error) {
	dir := listDir(prefix)
	if dir != "." {
		if err := ValidKey(dir); err != nil {
			return nil, err
		}
	}
	start := path.Join("objects", dir)
	var keys []string
	err := fs.WalkDir(l.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // the folder does not exist yet, or went meanwhile
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		key := strings.TrimPrefix(p, "objects/")
		if !strings.HasPrefix(key, prefix) || ValidKey(key) != nil {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while we walked
		}
		if err != nil {
			return err
		}
		if info.ModTime().Before(olderThan) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list %q: %w", prefix, err)
	}
	return keys, nil
}

// List pages through ListObjectsV2 and keeps the keys whose LastModified is
// before olderThan.
func (s *S3) List(ctx context.Context, prefix string, olderThan time.Time) ([]string, error) {
	var keys []string
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		for _, o := range page.Contents {
			if o.LastModified != nil && o.LastModified.Before(olderThan) {
				keys = append(keys, aws.ToString(o.Key))
			}
		}
	}
	return keys, nil
}
