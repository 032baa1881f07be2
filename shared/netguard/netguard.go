// Package netguard keeps the server from being used as a way into its own
// network: outbound calls to addresses users chose (push endpoints, A2A agent
// endpoints) may only reach addresses that the IANA special-purpose address
// registries mark globally reachable (registry.go). IPv6 forms that carry an
// IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are
// unwrapped first, so 64:ff9b::a9fe:a9fe is judged as 169.254.169.254.
//
// Two places use it: Dialer checks the address actually dialled, after DNS,
// so a public-looking name that resolves to 10.0.0.5 is refused too (and
// redirects are safe for the same reason); CheckHost refuses, when a URL is
// written, what can be known without DNS (literal addresses, localhost names).
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrNotPublic is wrapped by every refusal of an address.
var ErrNotPublic = errors.New("netguard: not a globally reachable address")

// Dialer returns a dialer that refuses addresses Check refuses, loopback
// excepted when allowLoopback is set.
func Dialer(allowLoopback bool) *net.Dialer {
	return &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			return CheckAddress(address, allowLoopback)
		},
	}
}

// CheckAddress refuses an "ip:port" whose ip Check refuses; with
// allowLoopback, 127.0.0.0/8 and ::1 pass (tests run peers there).
func CheckAddress(address string, allowLoopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("netguard: bad dial address %q: %w", address, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("netguard: refusing to dial unresolved address %q", host)
	}
	if allowLoopback && a.Unmap().IsLoopback() {
		return nil
	}
	if err := Check(a); err != nil {
		return fmt.Errorf("netguard: refusing to dial %s: %w", a, err)
	}
	return nil
}

// IsPublic reports whether Check allows ip.
func IsPublic(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	return ok && Check(a) == nil
}

// Check returns nil when a is globally reachable, else an error wrapping
// ErrNotPublic that names the registry row (and the embedded IPv4 address)
// that decided.
func Check(a netip.Addr) error {
	if a.Zone() != "" {
		return fmt.Errorf("%w: %s has a zone (link-scoped)", ErrNotPublic, a)
	}
	if a.Is4In6() {
		// An IPv4 address written for an IPv6 socket: the dial goes to
		// the IPv4 address, so it alone decides (the ::ffff:0:0/96 row
		// describes packets on an IPv6 wire, which these never are).
		if err := Check(a.Unmap()); err != nil {
			return fmt.Errorf("IPv4-mapped address %s: %w", a, err)
		}
		return nil
	}
	if inner, form, ok := embedded(a); ok {
		if r, found := lookup(a); found && r.reach == notGlobal {
			return fmt.Errorf("%w: %s is in %s %s", ErrNotPublic, a, r.prefix, r.name)
		}
		if err := Check(inner); err != nil {
			return fmt.Errorf("%s %s carries %s: %w", form, a, inner, err)
		}
		if form == formCompatible {
			// Deprecated (RFC 4291 2.5.5.1) and outside 2000::/3: no
			// stack routes it, whatever it carries.
			return fmt.Errorf("%w: %s %s is outside 2000::/3 (global unicast)", ErrNotPublic, form, a)
		}
		return nil
	}
	if r, found := lookup(a); found {
		if r.reach != global {
			return fmt.Errorf("%w: %s is in %s %s", ErrNotPublic, a, r.prefix, r.name)
		}
		return nil
	}
	switch {
	case a.Is4() && ipv4Multicast.Contains(a):
		return fmt.Errorf("%w: %s is multicast", ErrNotPublic, a)
	case a.Is6() && !ipv6GlobalUnicast.Contains(a):
		return fmt.Errorf("%w: %s is outside 2000::/3 (global unicast)", ErrNotPublic, a)
	}
	return nil
}

// Prefixes of the IPv6 forms that carry an IPv4 address.
var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local     = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
	v4Compatible   = netip.MustParsePrefix("::/96")
)

const formCompatible = "IPv4-compatible address"

// embedded returns the IPv4 address an IPv6 address carries, and the form's
// name. A packet to such an address ends up at (or depends on) that IPv4
// address, so it is judged too; the form's own registry row still refuses
// when it says not globally reachable (64:ff9b:1::/48).
func embedded(a netip.Addr) (netip.Addr, string, bool) {
	if !a.Is6() {
		return netip.Addr{}, "", false
	}
	b := a.As16()
	last32 := func() netip.Addr { return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}) }
	switch {
	case nat64WellKnown.Contains(a):
		return last32(), "NAT64 address", true
	case nat64Local.Contains(a):
		// RFC 6052 puts the IPv4 address in bits 32..63 of the suffix
		// for prefixes up to /96; the /48 row refuses it anyway.
		return last32(), "NAT64 (local-use) address", true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), "6to4 address", true
	case teredo.Contains(a):
		// RFC 4380: the client's public IPv4 address is the last 32
		// bits, each bit inverted.
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), "Teredo address", true
	case v4Compatible.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		return last32(), formCompatible, true
	}
	return netip.Addr{}, "", false
}

// CheckHost judges a URL's host (u.Hostname()) when the URL is written,
// before any DNS: names for the local host (localhost, *.localhost) and IP
// literals that Check refuses are refused, as is a host that a URL parser
// or resolver would read as an IPv4 address in a non-canonical spelling
// (127.1, 0x7f000001, 2130706433). Other names pass: the dialer judges what
// they resolve to.
func CheckHost(host string) error {
	if IsLocalName(host) {
		return fmt.Errorf("%w: %q names the local host", ErrNotPublic, host)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return Check(a.Unmap())
	}
	if numericHost(host) {
		return fmt.Errorf("%w: %q is not a canonical IP address", ErrNotPublic, host)
	}
	return nil
}

// IsLocalName reports names that resolvers send to loopback ("localhost",
// "localhost.", anything under .localhost, RFC 6761) and loopback literals.
func IsLocalName(host string) bool {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// numericHost: the WHATWG URL parser reads a host whose last label is a
// number (decimal, 0x-hex or octal) as an IPv4 address, and so do C
// resolvers (inet_aton); such a host is never a DNS name.
func numericHost(host string) bool {
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	last := strings.ToLower(labels[len(labels)-1])
	if last == "" {
		return false
	}
	if strings.HasPrefix(last, "0x") {
		last = last[2:]
		return strings.Trim(last, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}
