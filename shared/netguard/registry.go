package netguard

import "net/netip"

// reach is an entry's "Globally Reachable" column.
type reach int

const (
	notGlobal reach = iota // False
	global                 // True
	// viaEmbedded is N/A on a form that carries an IPv4 address (6to4,
	// Teredo): where a packet goes depends on that address, so it decides.
	// The deprecated entries whose column is N/A without carrying one
	// (192.88.99.0/24, ORCHID) get notGlobal: only True is let through.
	viaEmbedded
)

type entry struct {
	prefix netip.Prefix
	name   string
	reach  reach
}

func e(prefix, name string, r reach) entry {
	return entry{prefix: netip.MustParsePrefix(prefix), name: name, reach: r}
}

// The two IANA special-purpose address registries, one row per entry, with
// their "Globally Reachable" column:
//   - IANA IPv4 Special-Purpose Address Registry
//     (https://www.iana.org/assignments/iana-ipv4-special-registry)
//   - IANA IPv6 Special-Purpose Address Registry
//     (https://www.iana.org/assignments/iana-ipv6-special-registry)
//
// Transcribed 2026-12-05 from the registries as last updated in 2025 (the
// newest rows: 2001:1::3/128 from RFC 9665 and 100:0:0:1::/64 from RFC 9780).
// When several rows hold an address, the most specific decides (192.0.0.9
// is global inside 192.0.0.0/24, which is not). A new registry row means a
// new line here and a new row in the table test.
var ipv4Registry = []entry{
	e("0.0.0.0/8", `"This network"`, notGlobal),
	e("0.0.0.0/32", `"This host on this network"`, notGlobal),
	e("10.0.0.0/8", "Private-Use", notGlobal),
	e("100.64.0.0/10", "Shared Address Space", notGlobal),
	e("127.0.0.0/8", "Loopback", notGlobal),
	e("169.254.0.0/16", "Link Local", notGlobal),
	e("172.16.0.0/12", "Private-Use", notGlobal),
	e("192.0.0.0/24", "IETF Protocol Assignments", notGlobal),
	e("192.0.0.0/29", "IPv4 Service Continuity Prefix", notGlobal),
	e("192.0.0.8/32", "IPv4 dummy address", notGlobal),
	e("192.0.0.9/32", "Port Control Protocol Anycast", global),
	e("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", global),
	e("192.0.0.170/32", "NAT64/DNS64 Discovery", notGlobal),
	e("192.0.0.171/32", "NAT64/DNS64 Discovery", notGlobal),
	e("192.0.2.0/24", "Documentation (TEST-NET-1)", notGlobal),
	e("192.31.196.0/24", "AS112-v4", global),
	e("192.52.193.0/24", "AMT", global),
	e("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", notGlobal),
	e("192.88.99.2/32", "6a44-relay anycast address", notGlobal),
	e("192.168.0.0/16", "Private-Use", notGlobal),
	e("192.175.48.0/24", "Direct Delegation AS112 Service", global),
	e("198.18.0.0/15", "Benchmarking", notGlobal),
	e("198.51.100.0/24", "Documentation (TEST-NET-2)", notGlobal),
	e("203.0.113.0/24", "Documentation (TEST-NET-3)", notGlobal),
	e("240.0.0.0/4", "Reserved", notGlobal),
	e("255.255.255.255/32", "Limited Broadcast", notGlobal),
}

var ipv6Registry = []entry{
	e("::1/128", "Loopback Address", notGlobal),
	e("::/128", "Unspecified Address", notGlobal),
	e("::ffff:0:0/96", "IPv4-mapped Address", notGlobal),
	e("64:ff9b::/96", "IPv4-IPv6 Translat.", global),
	e("64:ff9b:1::/48", "IPv4-IPv6 Translat.", notGlobal),
	e("100::/64", "Discard-Only Address Block", notGlobal),
	e("100:0:0:1::/64", "Dummy IPv6 Prefix", notGlobal),
	e("2001::/23", "IETF Protocol Assignments", notGlobal),
	e("2001::/32", "TEREDO", viaEmbedded),
	e("2001:1::1/128", "Port Control Protocol Anycast", global),
	e("2001:1::2/128", "Traversal Using Relays around NAT Anycast", global),
	e("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", global),
	e("2001:2::/48", "Benchmarking", notGlobal),
	e("2001:3::/32", "AMT", global),
	e("2001:4:112::/48", "AS112-v6", global),
	e("2001:10::/28", "Deprecated (previously ORCHID)", notGlobal),
	e("2001:20::/28", "ORCHIDv2", global),
	e("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", global),
	e("2001:db8::/32", "Documentation", notGlobal),
	e("2002::/16", "6to4", viaEmbedded),
	e("2620:4f:8000::/48", "Direct Delegation AS112 Service", global),
	e("3fff::/20", "Documentation", notGlobal),
	e("5f00::/16", "Segment Routing (SRv6) SIDs", notGlobal),
	e("fc00::/7", "Unique-Local", notGlobal),
	e("fe80::/10", "Link-Local Unicast", notGlobal),
}

// Outside the special-purpose rows, the address-space registries decide:
// IPv4 multicast (224.0.0.0/4, "IANA IPv4 Address Space Registry") is not a
// destination for a unicast request, and in IPv6 only 2000::/3 is "Global
// Unicast" ("IANA IPv6 Address Space"); the rest (fec0::/10, the deprecated
// site-local block, ff00::/8 multicast, IPv4-compatible ::/96…) is reserved.
var (
	ipv4Multicast     = netip.MustParsePrefix("224.0.0.0/4")
	ipv6GlobalUnicast = netip.MustParsePrefix("2000::/3")
)

// lookup returns the most specific registry row holding a, if any.
func lookup(a netip.Addr) (entry, bool) {
	table := ipv6Registry
	if a.Is4() {
		table = ipv4Registry
	}
	best, found := entry{}, false
	for _, r := range table {
		if r.prefix.Contains(a) && (!found || r.prefix.Bits() > best.prefix.Bits()) {
			best, found = r, true
		}
	}
	return best, found
}
