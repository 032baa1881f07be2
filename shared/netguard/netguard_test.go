package netguard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// One row per entry of the IANA special-purpose registries (registry.go):
// an address that this entry decides (it is the most specific row holding
// it), and whether it may be dialled. The forms carrying an IPv4 address
// (6to4, Teredo) have one row with a public and one with a private IPv4.
var registryRows = []struct {
	entry string
	addr  string
	ok    bool
}{
	{"0.0.0.0/8", "0.1.2.3", false},
	{"0.0.0.0/32", "0.0.0.0", false},
	{"10.0.0.0/8", "10.0.0.5", false},
	{"100.64.0.0/10", "100.100.100.200", false},
	{"127.0.0.0/8", "127.0.0.1", false},
	{"169.254.0.0/16", "169.254.169.254", false},
	{"172.16.0.0/12", "172.31.255.254", false},
	{"192.0.0.0/24", "192.0.0.200", false},
	{"192.0.0.0/29", "192.0.0.1", false},
	{"192.0.0.8/32", "192.0.0.8", false},
	{"192.0.0.9/32", "192.0.0.9", true},
	{"192.0.0.10/32", "192.0.0.10", true},
	{"192.0.0.170/32", "192.0.0.170", false},
	{"192.0.0.171/32", "192.0.0.171", false},
	{"192.0.2.0/24", "192.0.2.10", false},
	{"192.31.196.0/24", "192.31.196.1", true},
	{"192.52.193.0/24", "192.52.193.1", true},
	{"192.88.99.0/24", "192.88.99.1", false},
	{"192.88.99.2/32", "192.88.99.2", false},
	{"192.168.0.0/16", "192.168.1.1", false},
	{"192.175.48.0/24", "192.175.48.6", true},
	{"198.18.0.0/15", "198.18.0.1", false},
	{"198.51.100.0/24", "198.51.100.7", false},
	{"203.0.113.0/24", "203.0.113.9", false},
	{"240.0.0.0/4", "240.0.0.1", false},
	{"255.255.255.255/32", "255.255.255.255", false},

	{"::1/128", "::1", false},
	{"::/128", "::", false},
	{"::ffff:0.0.0.0/96", "::ffff:10.0.0.1", false},
	{"::ffff:0.0.0.0/96", "::ffff:8.8.8.8", true},
	{"64:ff9b::/96", "64:ff9b::8.8.8.8", true},
	{"64:ff9b::/96", "64:ff9b::a9fe:a9fe", false},
	{"64:ff9b:1::/48", "64:ff9b:1::808:808", false},
	{"100::/64", "100::1", false},
	{"100:0:0:1::/64", "100:0:0:1::1", false},
	{"2001::/23", "2001:1ff::1", false},
	{"2001::/32", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", true},  // client 8.8.8.8
	{"2001::/32", "2001:0:4136:e378:8000:63bf:3f57:fefe", false}, // client 192.168.1.1
	{"2001:1::1/128", "2001:1::1", true},
	{"2001:1::2/128", "2001:1::2", true},
	{"2001:1::3/128", "2001:1::3", true},
	{"2001:2::/48", "2001:2::1", false},
	{"2001:3::/32", "2001:3::1", true},
	{"2001:4:112::/48", "2001:4:112::1", true},
	{"2001:10::/28", "2001:10::1", false},
	{"2001:20::/28", "2001:20::1", true},
	{"2001:30::/28", "2001:30::1", true},
	{"2001:db8::/32", "2001:db8::1", false},
	{"2002::/16", "2002:808:808::1", true},
	{"2002::/16", "2002:a9fe:a9fe::1", false},
	{"2620:4f:8000::/48", "2620:4f:8000::1", true},
	{"3fff::/20", "3fff::1", false},
	{"5f00::/16", "5f00::1", false},
	{"fc00::/7", "fd00::1", false},
	{"fe80::/10", "fe80::1", false},
}

func TestEveryRegistryEntry(t *testing.T) {
	covered := map[string]bool{}
	for _, row := range registryRows {
		a := netip.MustParseAddr(row.addr)
		if r, found := lookup(a); !found || r.prefix.String() != row.entry {
			t.Errorf("%s: decided by %v (found %v), want the row %s", row.addr, r.prefix, found, row.entry)
		}
		covered[row.entry] = true
		err := Check(a)
		if (err == nil) != row.ok {
			t.Errorf("%s (%s): err %v, want allowed=%v", row.addr, row.entry, err, row.ok)
		}
		if err != nil && !errors.Is(err, ErrNotPublic) {
			t.Errorf("%s: %v does not wrap ErrNotPublic", row.addr, err)
		}
	}
	for _, table := range [][]entry{ipv4Registry, ipv6Registry} {
		for _, r := range table {
			if !covered[r.prefix.String()] {
				t.Errorf("registry row %s (%s) has no test row", r.prefix, r.name)
			}
		}
	}
}

// The addresses from the report, the forms that carry an IPv4 address, and
// what lies outside the special-purpose rows.
func TestCheckBeyondTheRows(t *testing.T) {
	for addr, ok := range map[string]bool{
		"100.100.100.200": false, "198.18.7.7": false, "198.19.255.255": false, "192.0.0.1": false,
		"192.0.0.255": false, "240.1.2.3": false, "0.0.0.0": false, "0.255.255.255": false,
		"fec0::1": false, "64:ff9b::a9fe:a9fe": false, "2002:a9fe:a9fe::1": false,
		"::a9fe:a9fe": false, "::8.8.8.8": false, // IPv4-compatible: never
		"::ffff:169.254.169.254": false, "::ffff:100.100.100.200": false,
		"64:ff9b::c0a8:101": false, "64:ff9b::6464:64c8": false,
		"2002:c0a8:101::1": false, "2002:7f00:1::": false, "2002:6464:64c8::1": false,
		"2001:0:4136:e378:8000:63bf:80ff:fffe": false, // Teredo client 127.0.0.1
		"224.0.0.1":                            false, "239.255.255.250": false, "ff02::1": false, "ff0e::1": false,
		"4000::1": false, "fe80::1%eth0": false,
		"8.8.8.8": true, "93.184.216.34": true, "1.1.1.1": true, "100.63.255.255": true, "100.128.0.0": true,
		"198.17.255.255": true, "198.20.0.0": true, "223.255.255.254": true,
		"2606:4700::1111": true, "2a00:1450:4001:82b::200e": true, "64:ff9b::101:101": true,
	} {
		err := Check(netip.MustParseAddr(addr))
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want allowed=%v", addr, err, ok)
		}
	}
	err := Check(netip.MustParseAddr("64:ff9b::a9fe:a9fe"))
	if err == nil || !strings.Contains(err.Error(), "169.254.169.254") || !strings.Contains(err.Error(), "Link Local") {
		t.Errorf("NAT64 refusal should name the embedded address and its row: %v", err)
	}
}

func TestCheckAddress(t *testing.T) {
	for addr, ok := range map[string]bool{
		"93.184.216.34:443": true, "[2606:4700::1111]:443": true,
		"127.0.0.1:80": false, "[::1]:80": false, "10.0.0.5:80": false, "172.16.1.1:80": false,
		"192.168.1.1:80": false, "169.254.169.254:80": false, "0.0.0.0:80": false, "[fe80::1]:80": false,
		"[fd00::1]:80": false, "example.com:80": false, "100.100.100.200:80": false,
		"[64:ff9b::a9fe:a9fe]:80": false, "[2002:a9fe:a9fe::1]:443": false, "[fec0::1]:443": false,
		"[::ffff:127.0.0.1]:80": false, "no-port": false,
	} {
		if err := CheckAddress(addr, false); (err == nil) != ok {
			t.Errorf("%s: err %v, want allowed=%v", addr, err, ok)
		}
	}
	for _, addr := range []string{"127.0.0.1:80", "127.9.9.9:80", "[::1]:80", "[::ffff:127.0.0.1]:80"} {
		if err := CheckAddress(addr, true); err != nil {
			t.Errorf("loopback %s allowed: %v", addr, err)
		}
	}
	for _, addr := range []string{"10.0.0.5:80", "[64:ff9b::7f00:1]:80", "[2002:7f00:1::1]:80"} {
		if err := CheckAddress(addr, true); err == nil {
			t.Errorf("allowLoopback must not open %s", addr)
		}
	}
}

func TestCheckHost(t *testing.T) {
	for host, ok := range map[string]bool{
		"agents.example.com": true, "push.example.net.": true, "8.8.8.8": true, "2606:4700::1111": true,
		"localhost": false, "LOCALHOST.": false, "a.b.localhost": false, "127.0.0.1": false, "::1": false,
		"10.1.2.3": false, "100.100.100.200": false, "64:ff9b::a9fe:a9fe": false, "2002:a9fe:a9fe::1": false,
		"fec0::1": false, "::ffff:192.168.0.1": false,
		// Read as IPv4 by URL parsers and C resolvers, never DNS names.
		"127.1": false, "0x7f000001": false, "2130706433": false, "0177.0.0.1": false, "8.8.8.8.": false,
		"example.0x": false, "1e100.net": true, "x.123a": true,
	} {
		if err := CheckHost(host); (err == nil) != ok {
			t.Errorf("CheckHost(%q): err %v, want allowed=%v", host, err, ok)
		}
	}
}
