// Package storagetest starts a real S3-compatible server for tests:
// versitygw, built once per machine from the Go module proxy and run on
// 127.0.0.1 over a temporary directory with static keys.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// VersityGWVersion is the pinned server version (peers.md).
const VersityGWVersion = "v1.8.0"

// Region is what the server is started with; clients must use the same.
const Region = "auto"

// VersityGW starts a fresh server with one empty bucket and returns the
// storage configuration that reaches it. The server and its directory are
// removed when the test ends.
func VersityGW(t testing.TB) storage.S3Config {
	t.Helper()
	bin := testenv.GoTool(t, "github.com/versity/versitygw/cmd/versitygw", VersityGWVersion)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o750); err != nil {
		t.Fatal(err)
	}
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	access, secret := "ari"+randomHex(6), randomHex(20)

	var logs bytes.Buffer
	cmd := exec.Command(bin, "--port", addr, "--access", access, "--secret", secret,
		"--region", Region, "--quiet", "posix", data)
	// A clean environment: versitygw reads keys and options from variables
	// too, and nothing from the developer's shell should leak in.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("storagetest: start versitygw: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})

	if err := waitListening(addr, exited, 20*time.Second); err != nil {
		t.Fatalf("storagetest: versitygw on %s: %v\n%s", addr, err, logs.String())
	}

	cfg := storage.S3Config{
		Endpoint:        "http://" + addr,
		Region:          Region,
		Bucket:          "ari-test",
		AccessKeyID:     access,
		SecretAccessKey: secret,
		PathStyle:       true,
	}
	client := s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(cfg.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
		UsePathStyle: true,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		t.Fatalf("storagetest: create bucket: %v\n%s", err, logs.String())
	}
	return cfg
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitListening polls until the server answers HTTP (any status).
func waitListening(addr string, exited <-chan struct{}, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("exited before listening")
		default:
		}
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not listening after %s", limit)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
