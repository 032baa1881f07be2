package notify

import (
	"net/http"
	"time"

	"github.com/ari-chat/ari-server/shared/netguard"
)

// guardedClient is the default HTTP client for push requests. Subscription
// endpoints come from users, so the server must not become their way into its
// own network: the dialer checks the address actually dialled (after DNS, so
// a public-looking name that resolves to 10.0.0.5 is refused too). No proxy
// is used, since the proxy's address would be the one checked; inject a client
// to use one.
func guardedClient(allowLoopback bool) *http.Client {
	dialer := netguard.Dialer(allowLoopback)
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
