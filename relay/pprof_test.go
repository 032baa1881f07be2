package main

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RELAY_PPROF_ADDR serves Go's profiles on a listener of its own, block and
// mutex profiles included; the public port does not serve them.
func TestPprofOnItsOwnListener(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	c := newCluster(t, map[string]string{"RELAY_PPROF_ADDR": addr})
	r := c.start()
	get := func(url string) (int, string) {
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, body := get("http://" + addr + "/debug/pprof/")
	if st != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof index: %d %.200s", st, body)
	}
	for _, p := range []string{"block", "mutex"} {
		if st, body := get("http://" + addr + "/debug/pprof/" + p + "?debug=1"); st != http.StatusOK || !strings.Contains(body, "cycles/second") {
			t.Fatalf("%s profile: %d %.200s", p, st, body)
		}
	}
	if st, _ := get("http://" + r.addr + "/debug/pprof/"); st != http.StatusNotFound {
		t.Fatalf("the public port serves pprof: %d", st)
	}
}
