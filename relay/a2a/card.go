package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ErrNoCard means no agent card was found at the endpoint.
var ErrNoCard = errors.New("a2a: no agent card at endpoint")

// Card locations: v0.3 and v1.0 use agent-card.json, v0.1 and v0.2 agent.json.
const (
	cardPath       = "/.well-known/agent-card.json"
	legacyCardPath = "/.well-known/agent.json"
	maxCardBytes   = 1 << 20
)

// route is what discovery learns: the dialect to try first and the JSON-RPC
// URL for each dialect the card names (falling back to primary).
type route struct {
	start   Dialect
	primary string
	urls    map[Dialect]string
	tenant  string
}

func (r route) urlFor(d Dialect) string {
	if u := r.urls[d]; u != "" {
		return u
	}
	return r.primary
}

type cardInterface struct {
	URL             string `json:"url"`
	ProtocolBinding string `json:"protocolBinding"` // v1.0
	Transport       string `json:"transport"`       // v0.3 additionalInterfaces
	ProtocolVersion string `json:"protocolVersion"`
	Tenant          string `json:"tenant"`
}

func (i cardInterface) jsonRPC() bool {
	b := i.ProtocolBinding
	if b == "" {
		b = i.Transport
	}
	return b == "" || strings.EqualFold(b, "JSONRPC")
}

// agentCard holds the fields of every card generation that pick a dialect.
type agentCard struct {
	URL                  string          `json:"url"`
	ProtocolVersion      string          `json:"protocolVersion"`
	PreferredTransport   string          `json:"preferredTransport"`
	AdditionalInterfaces []cardInterface `json:"additionalInterfaces"`
	SupportedInterfaces  []cardInterface `json:"supportedInterfaces"`
}

// pickRoute applies FACTS §9.1: a v1.0 JSON-RPC interface wins; then a
// 0.2/0.3 card (or a 0.x interface); a card without any version is v0.1 or
// early v0.2, so it starts at message/stream and may step down to v0.1.
func pickRoute(c agentCard, cardURL *url.URL) (route, error) {
	r := route{urls: map[Dialect]string{}}
	abs := func(raw string) string {
		if raw == "" {
			return ""
		}
		u, err := cardURL.Parse(raw)
		if err != nil {
			return ""
		}
		return u.String()
	}
	for _, in := range c.SupportedInterfaces {
		if !in.jsonRPC() || abs(in.URL) == "" {
			continue
		}
		switch v := in.ProtocolVersion; {
		case v == "1.0" || strings.HasPrefix(v, "1."):
			if r.urls[V1] == "" {
				r.urls[V1] = abs(in.URL)
				r.tenant = in.Tenant
			}
		case strings.HasPrefix(v, "0."):
			if r.urls[V03] == "" {
				r.urls[V03] = abs(in.URL)
			}
		}
	}
	legacy := abs(c.URL)
	if legacy != "" && c.PreferredTransport != "" && !strings.EqualFold(c.PreferredTransport, "JSONRPC") {
		legacy = ""
		for _, in := range c.AdditionalInterfaces {
			if in.jsonRPC() && abs(in.URL) != "" {
				legacy = abs(in.URL)
				break
			}
		}
	}
	if legacy != "" && r.urls[V03] == "" {
		r.urls[V03] = legacy
	}
	switch {
	case r.urls[V1] != "":
		r.start, r.primary = V1, r.urls[V1]
	case r.urls[V03] != "":
		r.start, r.primary = V03, r.urls[V03]
	default:
		return route{}, fmt.Errorf("a2a: agent card names no JSON-RPC endpoint")
	}
	if legacy != "" {
		// The older dialects share the card's top-level url.
		r.urls[V01] = legacy
	}
	return r, nil
}

// discover fetches the card, trying agent-card.json before agent.json, first
// under the endpoint's own path and then at the origin's root.
func (c *Client) discover(ctx context.Context, a Agent) (route, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DiscoveryTimeout)
	defer cancel()
	base, err := url.Parse(strings.TrimRight(a.Endpoint, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return route{}, fmt.Errorf("a2a: invalid endpoint %q", a.Endpoint)
	}
	var candidates []string
	for _, p := range []string{cardPath, legacyCardPath} {
		candidates = append(candidates, base.Scheme+"://"+base.Host+base.EscapedPath()+p)
	}
	if base.Path != "" {
		for _, p := range []string{cardPath, legacyCardPath} {
			candidates = append(candidates, base.Scheme+"://"+base.Host+p)
		}
	}
	for _, cand := range candidates {
		card, cardURL, err := c.fetchCard(ctx, a, cand)
		if errors.Is(err, ErrNoCard) {
			continue
		}
		if err != nil {
			return route{}, err
		}
		r, err := pickRoute(card, cardURL)
		if err != nil {
			return route{}, err
		}
		return r, checkRouteOrigins(a, base, r)
	}
	return route{}, fmt.Errorf("%w: %s", ErrNoCard, a.Endpoint)
}

func (c *Client) fetchCard(ctx context.Context, a Agent, raw string) (agentCard, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return agentCard{}, nil, err
	}
	// SDK 1.3 serves a v0.3-shaped card unless asked for 1.0; the v1.0
	// card lists every interface with its version, which is what picks
	// the dialect. Older servers ignore the header.
	req.Header.Set("A2A-Version", "1.0")
	req.Header.Set("Accept", "application/json")
	req = withAuth(req, a.AuthHeader)
	resp, err := c.http.Do(req)
	if err != nil {
		return agentCard{}, nil, fmt.Errorf("a2a: fetch agent card: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return agentCard{}, nil, &unauthorizedError{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate")}
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return agentCard{}, nil, ErrNoCard
	case resp.StatusCode != http.StatusOK:
		return agentCard{}, nil, &HTTPError{Status: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCardBytes+1))
	if err != nil {
		return agentCard{}, nil, fmt.Errorf("a2a: read agent card: %w", err)
	}
	if len(body) > maxCardBytes {
		return agentCard{}, nil, fmt.Errorf("a2a: agent card over %d bytes", maxCardBytes)
	}
	var card agentCard
	if err := json.Unmarshal(body, &card); err != nil {
		return agentCard{}, nil, fmt.Errorf("a2a: decode agent card: %w", err)
	}
	return card, resp.Request.URL, nil
}
