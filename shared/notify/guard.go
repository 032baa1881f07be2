package notify

import (
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// guardedClient is the default HTTP client for push requests. Subscription
// endpoints come from users, so the server must not become their way into its
// own network: the dialer checks the address actually dialled (after DNS, so
// a public-looking name that resolves to 10.0.0.5 is refused too). No proxy
// is used, since the proxy's address would be the one checked; inject a client
// to use one.
func guardedClient(allowLoopback bool) *http.Client {
	dialer := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			return checkDialAddress(address, allowLoopback)
		},
	}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   8,
		},
		// A push service answers the POST itself; following a redirect would
		// let it send us anywhere.
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func checkDialAddress(address string, allowLoopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("push: bad dial address %q: %w", address, err)
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return fmt.Errorf("push: refusing to dial unresolved address %q", host)
	case ip.IsLoopback() && allowLoopback:
		return nil
	case !isPublicIP(ip):
		return fmt.Errorf("push: refusing to dial non-public address %s", ip)
	}
	return nil
}
