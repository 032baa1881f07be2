package a2a

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv/npm"
)

// The peers are real A2A servers built with the official JS SDK
// (testdata/servers/server.mjs): SDK 1.3.0 in v1.0 mode and in its v0.3
// compat mode, and SDK 0.3.14 as a genuine v0.3 server.

const serversDir = "testdata/servers"

// ensureNodeModules runs `npm ci` when node_modules is missing, so the
// tests work on a fresh clone.
func ensureNodeModules(t *testing.T) {
	t.Helper()
	npm.Install(t, serversDir)
}

type peer struct {
	base string
}

// startPeer runs `node server.mjs mode` and stops it when the test ends.
func startPeer(t *testing.T, mode string) *peer {
	t.Helper()
	ensureNodeModules(t)
	cmd := exec.Command("node", "server.mjs", mode)
	cmd.Dir = serversDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		stdin.Close() // the script exits when its stdin closes
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("peer %s stderr:\n%s", mode, stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() {
		}
		exited <- cmd.Wait()
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("peer %s exited early: %s", mode, stderr.String())
		}
		var hello struct{ Port int }
		if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.Port == 0 {
			t.Fatalf("peer %s said %q", mode, line)
		}
		return &peer{base: "http://127.0.0.1:" + strconv.Itoa(hello.Port)}
	case <-time.After(30 * time.Second):
		t.Fatalf("peer %s did not start: %s", mode, stderr.String())
	}
	return nil
}

type peerStats struct {
	RPC     map[string]int `json:"rpc"`
	Methods []struct {
		Prefix  string `json:"prefix"`
		Method  string `json:"method"`
		Version string `json:"version"`
	} `json:"methods"`
	Cancels      []string                   `json:"cancels"`
	Unauthorized int                        `json:"unauthorized"`
	LastParams   map[string]json.RawMessage `json:"lastParams"`
}

func (p *peer) stats(t *testing.T) peerStats {
	t.Helper()
	resp, err := http.Get(p.base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s peerStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s peerStats) methodsFor(prefix string) []string {
	var out []string
	for _, m := range s.Methods {
		if m.Prefix == prefix {
			out = append(out, m.Method+"@"+m.Version)
		}
	}
	return out
}

// rawCall makes a plain JSON-RPC call, independent of the client under test,
// to check what the agent itself recorded.
func rawCall(t *testing.T, url string, d Dialect, method string, params any) json.RawMessage {
	t.Helper()
	body, _ := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: "check", Method: method, Params: params})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if v := d.versionHeader(); v != "" {
		req.Header.Set("A2A-Version", v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env rpcEnvelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	if env.Error != nil {
		t.Fatalf("%s: error %d %s", method, env.Error.Code, env.Error.Message)
	}
	return env.Result
}
