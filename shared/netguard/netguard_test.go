package netguard

import "testing"

func TestCheckAddress(t *testing.T) {
	for addr, ok := range map[string]bool{
		"93.184.216.34:443": true, "[2606:4700::1111]:443": true,
		"127.0.0.1:80": false, "[::1]:80": false, "10.0.0.5:80": false, "172.16.1.1:80": false,
		"192.168.1.1:80": false, "169.254.169.254:80": false, "0.0.0.0:80": false, "[fe80::1]:80": false,
		"[fd00::1]:80": false, "example.com:80": false,
	} {
		if err := CheckAddress(addr, false); (err == nil) != ok {
			t.Errorf("%s: err %v, want allowed=%v", addr, err, ok)
		}
	}
	if err := CheckAddress("127.0.0.1:80", true); err != nil {
		t.Errorf("loopback allowed: %v", err)
	}
	if err := CheckAddress("10.0.0.5:80", true); err == nil {
		t.Error("allowLoopback must not open private ranges")
	}
}
