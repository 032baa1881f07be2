package notify

import (
	"crypto/ecdh"
	"encoding/base64"
	"strings"
	"testing"
)

func validSubscription(t *testing.T) Subscription {
	t.Helper()
	return newReceiver(t).subscription("https://fcm.googleapis.com/fcm/send/abc:def")
}

func TestValidateSubscriptionAcceptsBrowserShapes(t *testing.T) {
	s := validSubscription(t)
	if err := ValidateSubscription(s); err != nil {
		t.Fatalf("valid subscription refused: %v", err)
	}
	padded := s
	padded.P256dh += "="
	padded.Auth += "=="
	if err := ValidateSubscription(padded); err != nil {
		t.Errorf("padded base64url refused: %v", err)
	}
	for _, ep := range []string{
		"https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
		"https://web.push.apple.com/QGuQyavXutnMH?x=1",
		"https://push.example.com:8443/p",
	} {
		s.Endpoint = ep
		if err := ValidateSubscription(s); err != nil {
			t.Errorf("%s refused: %v", ep, err)
		}
	}
}

func TestValidateSubscriptionRejectsBadInput(t *testing.T) {
	enc := base64.RawURLEncoding
	good := validSubscription(t)
	point := must(decodeKey(good.P256dh))
	compressed := append([]byte{2 + point[64]&1}, point[1:33]...)
	offCurve := append([]byte{4}, make([]byte, 64)...)

	cases := []struct {
		name string
		mod  func(*Subscription)
		want string
	}{
		{"no endpoint", func(s *Subscription) { s.Endpoint = "" }, "endpoint: required"},
		{"http endpoint", func(s *Subscription) { s.Endpoint = "http://push.example.com/x" }, "endpoint: scheme must be https"},
		{"other scheme", func(s *Subscription) { s.Endpoint = "ftp://push.example.com/x" }, "endpoint: scheme must be https"},
		{"relative", func(s *Subscription) { s.Endpoint = "/push/x" }, "endpoint: must be an absolute URL"},
		{"garbage", func(s *Subscription) { s.Endpoint = "https://%zz" }, "endpoint: must be an absolute URL"},
		{"opaque", func(s *Subscription) { s.Endpoint = "https:push.example.com" }, "endpoint: must be an absolute URL"},
		{"credentials", func(s *Subscription) { s.Endpoint = "https://u:p@push.example.com/x" }, "endpoint: must not carry user credentials"},
		{"fragment", func(s *Subscription) { s.Endpoint = "https://push.example.com/x#y" }, "endpoint: must not have a fragment"},
		{"too long", func(s *Subscription) {
			s.Endpoint = "https://push.example.com/" + strings.Repeat("a", MaxEndpointLength)
		}, "endpoint: longer than"},
		{"loopback ip", func(s *Subscription) { s.Endpoint = "https://127.0.0.1/x" }, "endpoint: must not point at a loopback host"},
		{"loopback v6", func(s *Subscription) { s.Endpoint = "https://[::1]:8443/x" }, "loopback"},
		{"localhost dot", func(s *Subscription) { s.Endpoint = "https://LOCALHOST./x" }, "loopback"},
		{"sub.localhost", func(s *Subscription) { s.Endpoint = "https://a.localhost/x" }, "loopback"},
		{"http loopback without option", func(s *Subscription) { s.Endpoint = "http://127.0.0.1:9/x" }, "scheme must be https"},
		{"private ip", func(s *Subscription) { s.Endpoint = "https://10.0.0.7/x" }, "private or reserved"},
		{"metadata ip", func(s *Subscription) { s.Endpoint = "https://169.254.169.254/latest" }, "private or reserved"},
		{"shared address space", func(s *Subscription) { s.Endpoint = "https://100.100.100.200/x" }, "private or reserved"},
		{"benchmarking", func(s *Subscription) { s.Endpoint = "https://198.18.0.1/x" }, "private or reserved"},
		{"nat64 metadata", func(s *Subscription) { s.Endpoint = "https://[64:ff9b::a9fe:a9fe]/x" }, "private or reserved"},
		{"6to4 metadata", func(s *Subscription) { s.Endpoint = "https://[2002:a9fe:a9fe::1]/x" }, "private or reserved"},
		{"site-local", func(s *Subscription) { s.Endpoint = "https://[fec0::1]/x" }, "private or reserved"},
		{"numeric host", func(s *Subscription) { s.Endpoint = "https://0x7f000001/x" }, "private or reserved"},
		{"no p256dh", func(s *Subscription) { s.P256dh = "" }, "p256dh: required"},
		{"p256dh not base64url", func(s *Subscription) { s.P256dh = "BAD+/KEY" }, "p256dh: not base64url"},
		{"p256dh 64 bytes", func(s *Subscription) { s.P256dh = enc.EncodeToString(point[1:]) }, "p256dh: must be 65 bytes"},
		{"p256dh compressed", func(s *Subscription) { s.P256dh = enc.EncodeToString(compressed) }, "p256dh: must be 65 bytes"},
		{"p256dh off curve", func(s *Subscription) { s.P256dh = enc.EncodeToString(offCurve) }, "p256dh: not a valid P-256 public key"},
		{"no auth", func(s *Subscription) { s.Auth = "" }, "auth: required"},
		{"auth 15 bytes", func(s *Subscription) { s.Auth = enc.EncodeToString(make([]byte, 15)) }, "auth: must be 16 bytes, got 15"},
		{"auth 17 bytes", func(s *Subscription) { s.Auth = enc.EncodeToString(make([]byte, 17)) }, "auth: must be 16 bytes, got 17"},
		{"auth not base64url", func(s *Subscription) { s.Auth = "!!!!" }, "auth: not base64url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good
			c.mod(&s)
			err := ValidateSubscription(s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want one containing %q", err, c.want)
			}
		})
	}

	// Everything wrong at once: every field is named, so a client fixes all
	// in one go.
	err := ValidateSubscription(Subscription{Endpoint: "http://x", P256dh: "AA", Auth: "AA"})
	for _, field := range []string{"endpoint:", "p256dh:", "auth:"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("combined error %v does not name %s", err, field)
		}
	}
}

func TestAllowInsecureLoopbackIsNarrow(t *testing.T) {
	rules := SubscriptionRules{AllowInsecureLoopback: true}
	s := validSubscription(t)
	for ep, ok := range map[string]bool{
		"http://127.0.0.1:8080/push":   true,
		"http://localhost:8080/push":   true,
		"http://[::1]:8080/push":       true,
		"https://127.0.0.1/push":       true,
		"http://push.example.com/push": false,
		"http://10.0.0.1/push":         false,
		"ws://127.0.0.1/push":          false,
	} {
		s.Endpoint = ep
		if err := rules.Validate(s); (err == nil) != ok {
			t.Errorf("%s: err %v, want allowed=%v", ep, err, ok)
		}
	}
}

func TestGenerateVAPIDKeys(t *testing.T) {
	pub, priv, err := GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	pub2, priv2, _ := GenerateVAPIDKeys()
	if pub == pub2 || priv == priv2 {
		t.Error("two calls gave the same keys")
	}
	pb, err1 := base64.RawURLEncoding.DecodeString(pub)
	kb, err2 := base64.RawURLEncoding.DecodeString(priv)
	if err1 != nil || err2 != nil || len(pb) != 65 || pb[0] != 4 || len(kb) != 32 {
		t.Fatalf("keys not raw base64url of 65/32 bytes: %q %q", pub, priv)
	}
	k, err := ecdh.P256().NewPrivateKey(kb)
	if err != nil || string(k.PublicKey().Bytes()) != string(pb) {
		t.Error("public key does not belong to the private key")
	}
	if err := (VAPID{PublicKey: pub, PrivateKey: priv, Subject: "mailto:a@b.example"}).Validate(); err != nil {
		t.Errorf("generated keys fail Validate: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
