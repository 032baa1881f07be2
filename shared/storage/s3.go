package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3Config configures an S3 store. Either AccountID (Cloudflare R2) or
// Endpoint (any S3-compatible server) or neither (AWS S3 in Region).
type S3Config struct {
	// AccountID selects Cloudflare R2: the endpoint becomes
	// https://<AccountID>.r2.cloudflarestorage.com and the region "auto".
	AccountID string
	// Endpoint is an S3-compatible endpoint URL, e.g. http://127.0.0.1:7070.
	Endpoint string
	// Region must match the server's; default "auto" for R2 and for a
	// custom endpoint, required for AWS.
	Region string
	Bucket string
	// AccessKeyID and SecretAccessKey are static credentials; nothing else
	// (environment, ~/.aws, instance metadata) is ever consulted.
	AccessKeyID     string
	SecretAccessKey string
	// PathStyle addresses objects as <endpoint>/<bucket>/<key> instead of
	// <bucket>.<endpoint>/<key>; needed by most self-hosted servers.
	PathStyle bool
	// PublicBaseURL, when set, is a public (CDN or r2.dev) address of the
	// bucket: URL returns PublicBaseURL/<key>, which never expires.
	// Otherwise URL returns a presigned GET valid for URLTTL.
	PublicBaseURL string
	// URLTTL is the lifetime of presigned GET links; default DefaultURLTTL.
	URLTTL time.Duration
	// HTTPClient is optional; the SDK's default client is used otherwise.
	HTTPClient *http.Client
}

// Configured reports whether enough is set to use S3 rather than the local
// store: a bucket, both keys, and somewhere to send them.
func (c S3Config) Configured() bool {
	return c.Bucket != "" && c.AccessKeyID != "" && c.SecretAccessKey != "" &&
		(c.AccountID != "" || c.Endpoint != "" || c.Region != "")
}

// S3 is a Store in an S3-compatible bucket.
type S3 struct {
	client    *s3.Client
	presigner *s3.PresignClient
	bucket    string
	publicURL string
	urlTTL    time.Duration
}

var _ Store = (*S3)(nil)

// NewS3 builds the client from cfg alone.
func NewS3(cfg S3Config) (*S3, error) {
	if !cfg.Configured() {
		return nil, errors.New("storage: S3 needs a bucket, access key, secret key and an account id, endpoint or region")
	}
	endpoint, region := cfg.Endpoint, cfg.Region
	if cfg.AccountID != "" {
		endpoint = "https://" + cfg.AccountID + ".r2.cloudflarestorage.com"
		if region == "" {
			region = "auto"
		}
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("storage: invalid S3 endpoint %q", endpoint)
		}
		if region == "" {
			region = "auto"
		}
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = DefaultURLTTL
	}
	if cfg.URLTTL > maxPresignTTL {
		return nil, fmt.Errorf("storage: URL lifetime %s exceeds 7 days", cfg.URLTTL)
	}
	opts := s3.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		UsePathStyle: cfg.PathStyle,
		// Only checksum when an operation demands it: PutObject then needs
		// no seekable body and no aws-chunked trailer, which R2 and other
		// S3-compatible servers do not all accept.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
	}
	if cfg.HTTPClient != nil {
		opts.HTTPClient = cfg.HTTPClient
	}
	client := s3.New(opts)
	return &S3{
		client:    client,
		presigner: s3.NewPresignClient(client),
		bucket:    cfg.Bucket,
		publicURL: strings.TrimRight(cfg.PublicBaseURL, "/"),
		urlTTL:    cfg.URLTTL,
	}, nil
}

// Put streams the body in one PutObject with a known Content-Length. The
// payload is sent as UNSIGNED-PAYLOAD: hashing it for the signature would
// need a seekable (or buffered) body. Over HTTPS, TLS protects it in transit.
func (s *S3) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error {
	if err := checkPut(key, size, contentType); err != nil {
		return err
	}
	er := newExactReader(body, size)
	if size == 0 {
		// Nothing would read a zero-length body, so look for surplus here.
		if err := er.probeEnd(); err != nil {
			return err
		}
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          er,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
	}
	if !servedInline(contentType) {
		// The bucket serves links itself; make it send anything a browser
		// could run as a download, as LocalHandler does.
		in.ContentDisposition = aws.String("attachment")
	}
	_, err := s.client.PutObject(ctx, in, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if er.mismatch {
		return ErrSizeMismatch
	}
	if err != nil {
		return fmt.Errorf("storage: put %q: %w", key, err)
	}
	return nil
}

// Open streams the object.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, Info{}, s.wrap("open", key, err)
	}
	return out.Body, Info{
		Size:        aws.ToInt64(out.ContentLength),
		ContentType: aws.ToString(out.ContentType),
		ModTime:     aws.ToTime(out.LastModified),
	}, nil
}

// Stat uses HeadObject.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return Info{}, s.wrap("stat", key, err)
	}
	return Info{
		Size:        aws.ToInt64(out.ContentLength),
		ContentType: aws.ToString(out.ContentType),
		ModTime:     aws.ToTime(out.LastModified),
	}, nil
}

// ReadHead fetches only the first n bytes with a Range request.
func (s *S3) ReadHead(ctx context.Context, key string, n int) ([]byte, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("storage: negative head length %d", n)
	}
	if n == 0 {
		_, err := s.Stat(ctx, key)
		return []byte{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
		Range:  aws.String(fmt.Sprintf("bytes=0-%d", n-1)),
	})
	if err != nil {
		// A range cannot start inside an empty object; that is a head of
		// zero bytes, as long as the object exists.
		if status(err) == http.StatusRequestedRangeNotSatisfiable {
			_, serr := s.Stat(ctx, key)
			return []byte{}, serr
		}
		return nil, s.wrap("read head of", key, err)
	}
	defer out.Body.Close()
	// Do not trust the server to honour the range: never read past n.
	head, err := io.ReadAll(io.LimitReader(out.Body, int64(n)))
	if err != nil {
		return nil, fmt.Errorf("storage: read head of %q: %w", key, err)
	}
	return head, nil
}

// Delete removes the object; S3 already treats a missing key as success.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if err := s.wrap("delete", key, err); !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// PresignPut signs a PutObject with Content-Length and Content-Type among
// the signed headers, so the server rejects any other size or type.
func (s *S3) PresignPut(ctx context.Context, key string, size int64, contentType string, ttl time.Duration) (PresignedRequest, error) {
	if err := checkPut(key, size, contentType); err != nil {
		return PresignedRequest{}, err
	}
	if ttl <= 0 || ttl > maxPresignTTL {
		return PresignedRequest{}, fmt.Errorf("storage: presign lifetime %s out of range", ttl)
	}
	signedAt := time.Now().Truncate(time.Second)
	req, err := s.presigner.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return PresignedRequest{}, fmt.Errorf("storage: presign put %q: %w", key, err)
	}
	h := req.SignedHeader.Clone()
	// Host comes from the URL; clients cannot set it as a header anyway.
	h.Del("Host")
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", fmt.Sprint(size))
	return PresignedRequest{Method: req.Method, URL: req.URL, Headers: h, Expires: signedAt.Add(ttl)}, nil
}

// URL returns the public address when the bucket has one, otherwise a
// presigned GET that lasts the configured lifetime.
func (s *S3) URL(ctx context.Context, key string) (string, time.Time, error) {
	if err := ValidKey(key); err != nil {
		return "", time.Time{}, err
	}
	if s.publicURL != "" {
		return s.publicURL + "/" + key, time.Time{}, nil
	}
	signedAt := time.Now().Truncate(time.Second)
	req, err := s.presigner.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	}, s3.WithPresignExpires(s.urlTTL))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("storage: presign get %q: %w", key, err)
	}
	return req.URL, signedAt.Add(s.urlTTL), nil
}

// wrap turns S3's "no such key" answers into ErrNotFound.
func (s *S3) wrap(op, key string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return ErrNotFound
		}
	}
	return fmt.Errorf("storage: %s %q: %w", op, key, err)
}

func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
