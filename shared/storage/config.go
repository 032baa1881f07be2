package storage

import (
	"github.com/ari-chat/ari-server/shared/config"
)

// FromConfig builds the Store the environment asks for: S3 when
// cfg.S3Configured() (R2 when R2_ACCOUNT_ID is set, otherwise S3_ENDPOINT,
// path-style with S3_FORCE_PATH_STYLE, public links under S3_PUBLIC_URL),
// else a Local store in UPLOAD_DIR whose links point at BETTER_AUTH_URL and
// are signed with a key derived from BETTER_AUTH_SECRET. FILE_URL_TTL is the
// lifetime of download links in both. A *Local result must be served by
// LocalHandler at /files/ on BETTER_AUTH_URL (the local shim does this).
func FromConfig(cfg config.Config) (Store, error) {
	if cfg.S3Configured() {
		return NewS3(S3Config{
			AccountID:       cfg.R2AccountID,
			Endpoint:        cfg.S3Endpoint,
			Region:          cfg.S3Region,
			Bucket:          cfg.S3Bucket,
			AccessKeyID:     cfg.S3AccessKeyID,
			SecretAccessKey: cfg.S3SecretKey,
			PathStyle:       cfg.S3ForcePathStyle,
			PublicBaseURL:   cfg.S3PublicURL,
			URLTTL:          cfg.FileURLTTL,
		})
	}
	return NewLocal(LocalConfig{
		Dir:        cfg.UploadDir,
		BaseURL:    cfg.BaseURL,
		Secret:     []byte(cfg.AuthSecret),
		URLTTL:     cfg.FileURLTTL,
		MaxPutSize: cfg.MaxUploadBytes,
	})
}
