// Package netguard keeps the server from being used as a way into its own
// network: outbound calls to addresses users chose (push endpoints, A2A agent
// endpoints) may only reach public addresses. The check runs on the address
// actually dialled, after DNS, so a public-looking name that resolves to
// 10.0.0.5 is refused too; redirects are safe for the same reason.
package netguard

import (
	"fmt"
	"net"
	"syscall"
	"time"
)

// Dialer returns a dialer that refuses non-public addresses, loopback
// excepted when allowLoopback is set.
func Dialer(allowLoopback bool) *net.Dialer {
	return &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			return CheckAddress(address, allowLoopback)
		},
	}
}

// CheckAddress refuses an "ip:port" that is not a public unicast address.
func CheckAddress(address string, allowLoopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("netguard: bad dial address %q: %w", address, err)
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return fmt.Errorf("netguard: refusing to dial unresolved address %q", host)
	case ip.IsLoopback() && allowLoopback:
		return nil
	case !IsPublic(ip):
		return fmt.Errorf("netguard: refusing to dial non-public address %s", ip)
	}
	return nil
}

// IsPublic reports whether ip is a global unicast address outside the private,
// loopback, link-local and unspecified ranges.
func IsPublic(ip net.IP) bool {
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() &&
		!ip.IsLinkLocalUnicast() && !ip.IsUnspecified()
}
