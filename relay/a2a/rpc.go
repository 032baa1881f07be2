package a2a

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

var (
	// ErrUnauthorized means the agent answered 401 or 403: the configured
	// auth header is missing or wrong. It is never retried.
	ErrUnauthorized = errors.New("a2a: agent rejected credentials")
	// ErrIdleTimeout means the agent sent nothing for Options.IdleTimeout.
	ErrIdleTimeout = errors.New("a2a: agent idle timeout")
	// ErrNoEndpoint means the agent has no A2A endpoint configured.
	ErrNoEndpoint = errors.New("a2a: agent has no A2A endpoint")
	// ErrNoDialect means every dialect on the ladder was refused.
	ErrNoDialect = errors.New("a2a: agent speaks no supported A2A dialect")
	// ErrNotCancelable means the task already reached a terminal state.
	ErrNotCancelable = errors.New("a2a: task not cancelable")
	// ErrTaskNotFound means the agent does not know the task id.
	ErrTaskNotFound = errors.New("a2a: task not found")
)

// RPCError is a JSON-RPC error object returned by the agent. Codes from
// -32006 on mean different things in v0.1 than later, so Dialect says
// which table applies.
type RPCError struct {
	Code    int
	Message string
	Dialect Dialect
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("a2a: agent error %d: %s", e.Code, e.Message)
}

// HTTPError is an HTTP status the agent answered that carries no JSON-RPC body.
type HTTPError struct{ Status int }

func (e *HTTPError) Error() string { return fmt.Sprintf("a2a: agent answered HTTP %d", e.Status) }

type unauthorizedError struct {
	status    int
	challenge string
}

func (e *unauthorizedError) Error() string {
	msg := fmt.Sprintf("%v (HTTP %d)", ErrUnauthorized, e.status)
	if e.challenge != "" {
		msg += ": " + e.challenge
	}
	return msg
}

func (e *unauthorizedError) Unwrap() error { return ErrUnauthorized }

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      string `json:"id"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

type rpcErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type rpcEnvelope struct {
	Result json.RawMessage `json:"result"`
	Error  *rpcErrorBody   `json:"error"`
}

// stepsDown reports whether err means "not this dialect": -32601 for an
// unknown method, -32009 for an unsupported A2A-Version. Below v0.3 the
// ladder ends, and v0.1 used -32009 for something else anyway.
func stepsDown(err error, d Dialect) bool {
	var re *RPCError
	if !errors.As(err, &re) || d == V01 {
		return false
	}
	return re.Code == -32601 || re.Code == -32009
}

// post sends one JSON-RPC call. The caller owns the response body when
// the answer is a stream; a JSON answer is decoded here.
func (c *Client) post(ctx context.Context, a Agent, d Dialect, url, method string, params any) (*http.Response, *rpcEnvelope, error) {
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: c.nextID(), Method: method, Params: params})
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream, application/json")
	if v := d.versionHeader(); v != "" {
		req.Header.Set("A2A-Version", v)
	}
	req = withAuth(req, a.AuthHeader)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		resp.Body.Close()
		return nil, nil, &unauthorizedError{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate")}
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "text/event-stream" && resp.StatusCode == http.StatusOK {
		return resp, nil, nil
	}
	defer resp.Body.Close()
	// Errors before a stream starts come as one JSON envelope, with 200
	// or (for internal errors) 500; check the type before parsing.
	if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return nil, nil, &HTTPError{Status: resp.StatusCode}
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.opts.MaxEventBytes)+1))
	if err != nil {
		return nil, nil, err
	}
	var env rpcEnvelope
	if len(raw) > c.opts.MaxEventBytes || json.Unmarshal(raw, &env) != nil {
		return nil, nil, &HTTPError{Status: resp.StatusCode}
	}
	if env.Error != nil {
		return nil, nil, &RPCError{Code: env.Error.Code, Message: env.Error.Message, Dialect: d}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, &HTTPError{Status: resp.StatusCode}
	}
	return nil, &env, nil
}

func parseAuthHeader(raw string) (name, value string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", ""
	}
	if n, v, ok := strings.Cut(raw, ":"); ok && isToken(n) {
		return n, strings.TrimSpace(v)
	}
	if !strings.ContainsAny(raw, " \t") {
		return "Authorization", "Bearer " + raw
	}
	return "Authorization", raw
}

// isToken reports whether s is an HTTP field name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}
