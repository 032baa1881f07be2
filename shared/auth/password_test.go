package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The worked example from FACTS.md §1, checked there against Better Auth's own
// verifyPassword and Python's hashlib.scrypt.
const (
	katPassword = "correct horse battery staple"
	katScrypt   = "0123456789abcdef0123456789abcdef:e1034727d858e2fca8a705fe561781100520e78064f8d2bfa492937c58df02eb15d40233f809f179c7fb9863b8eb9dc5a8d2dc196c0b9733c05fa426f224856e"
	// Written by npm argon2@0.45.1 (the reference C implementation) with
	// salt "0123456789abcdef", m=19456, t=2, p=1, 32-byte hash. Its PHC
	// parameters come in the order m,p,t, which the parser must accept.
	katArgon2 = "$argon2id$v=19$m=19456,p=1,t=2$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0"
)

func TestVerifyPasswordKnownAnswers(t *testing.T) {
	cases := []struct {
		name, pw, stored string
		ok               bool
		alg              Algorithm
	}{
		{"scrypt right", katPassword, katScrypt, true, Scrypt},
		{"scrypt full-width NFKC", "ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ ｓｔａｐｌｅ", katScrypt, true, Scrypt},
		{"scrypt wrong", "correct horse battery stapler", katScrypt, false, Scrypt},
		{"scrypt empty", "", katScrypt, false, Scrypt},
		{"argon2id right", katPassword, katArgon2, true, Argon2id},
		{"argon2id full-width NFKC", "ｃｏｒｒｅｃｔ ｈｏｒｓｅ ｂａｔｔｅｒｙ ｓｔａｐｌｅ", katArgon2, true, Argon2id},
		{"argon2id wrong", "Correct horse battery staple", katArgon2, false, Argon2id},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, alg, err := VerifyPassword(tc.pw, tc.stored)
			if err != nil {
				t.Fatalf("VerifyPassword: %v", err)
			}
			if ok != tc.ok || alg != tc.alg {
				t.Fatalf("got ok=%v alg=%q, want ok=%v alg=%q", ok, alg, tc.ok, tc.alg)
			}
		})
	}
}

func TestVerifyPasswordScryptSaltIsHexText(t *testing.T) {
	// Decoding the salt before use would be the natural mistake; the same
	// key with the salt's uppercase spelling must therefore not verify.
	upper := strings.ToUpper(katScrypt[:32]) + katScrypt[32:]
	ok, _, err := VerifyPassword(katPassword, upper)
	if err != nil || ok {
		t.Fatalf("uppercase salt text: ok=%v err=%v, want a mismatch", ok, err)
	}
}

func TestHashPasswordRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{Scrypt, Argon2id} {
		t.Run(string(alg), func(t *testing.T) {
			pw := "pässwörd 🔑 ﬁne"
			h1, err := HashPassword(pw, alg)
			if err != nil {
				t.Fatal(err)
			}
			h2, err := HashPassword(pw, alg)
			if err != nil {
				t.Fatal(err)
			}
			if h1 == h2 {
				t.Fatal("two hashes of one password are equal; the salt is not random")
			}
			switch alg {
			case Scrypt:
				salt, key, _ := strings.Cut(h1, ":")
				if len(h1) != 161 || len(salt) != 32 || len(key) != 128 || strings.ToLower(h1) != h1 {
					t.Fatalf("scrypt hash %q is not Better Auth's 32:128 lowercase hex shape", h1)
				}
			case Argon2id:
				if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
					t.Fatalf("argon2id hash %q lacks the documented parameters", h1)
				}
			}
			ok, got, err := VerifyPassword(pw, h1)
			if err != nil || !ok || got != alg {
				t.Fatalf("verify own hash: ok=%v alg=%q err=%v", ok, got, err)
			}
			// NFKC: the ligature "ﬁ" and "fi" are the same password.
			ok, _, err = VerifyPassword(strings.Replace(pw, "ﬁ", "fi", 1), h1)
			if err != nil || !ok {
				t.Fatalf("NFKC-equivalent password: ok=%v err=%v", ok, err)
			}
			ok, _, err = VerifyPassword(pw+"x", h1)
			if err != nil || ok {
				t.Fatalf("wrong password: ok=%v err=%v", ok, err)
			}
		})
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	for _, stored := range []string{
		"",
		"nocolon",
		":" + strings.Repeat("a", 128),
		"0123456789abcdef0123456789abcdef:abcd",
		"0123456789abcdef0123456789abcdef:" + strings.Repeat("a", 127) + ":",
		"$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg",
		"$argon2id$v=16$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=19$m=19456,t=2$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=19$m=4194304,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
		"$argon2i$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0",
	} {
		ok, _, err := VerifyPassword(katPassword, stored)
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("VerifyPassword(%q) = ok %v, err %v; want ErrMalformedHash", stored, ok, err)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	own, err := HashPassword(katPassword, Argon2id)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		stored string
		want   Algorithm
		rehash bool
	}{
		{katScrypt, Scrypt, false},
		{katScrypt, Argon2id, true},
		{own, Argon2id, false},
		{own, Scrypt, true},
		{"$argon2id$v=19$m=65536,t=3,p=4$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0", Argon2id, true},
		// The npm KAT uses our parameters in another order: no rehash.
		{katArgon2, Argon2id, false},
	}
	for _, tc := range cases {
		if got := NeedsRehash(tc.stored, tc.want); got != tc.rehash {
			t.Errorf("NeedsRehash(%.20q…, %s) = %v, want %v", tc.stored, tc.want, got, tc.rehash)
		}
	}
}

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{"": Scrypt, "scrypt": Scrypt, " Argon2id ": Argon2id} {
		got, err := ParseAlgorithm(in)
		if err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseAlgorithm("bcrypt"); err == nil {
		t.Error("ParseAlgorithm(bcrypt) succeeded")
	}
	if _, err := HashPassword("x", "bcrypt"); err == nil {
		t.Error("HashPassword with an unknown algorithm succeeded")
	}
}

func TestCheckPasswordLength(t *testing.T) {
	cases := []struct {
		pw   string
		want error
	}{
		{"1234567", ErrPasswordTooShort},
		{"12345678", nil},
		// U+1F511 is one rune but two UTF-16 units, as JS string.length counts.
		{"🔑🔑🔑🔑", nil},
		{"🔑🔑🔑", ErrPasswordTooShort},
		{"é" + "abcdef", ErrPasswordTooShort}, // 7 units, though 8 bytes
		{strings.Repeat("a", 128), nil},
		{strings.Repeat("a", 129), ErrPasswordTooLong},
		{strings.Repeat("🔑", 64), nil},
		{strings.Repeat("🔑", 64) + "a", ErrPasswordTooLong},
		// Counted before NFKC: "ﬁ" is one unit even though NFKC makes it two.
		{strings.Repeat("ﬁ", 128), nil},
	}
	for _, tc := range cases {
		if got := CheckPasswordLength(tc.pw, MinPasswordLength, MaxPasswordLength); got != tc.want {
			t.Errorf("CheckPasswordLength(%q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
}

func TestDummyVerifyCostsAVerification(t *testing.T) {
	for _, alg := range []Algorithm{Scrypt, Argon2id} {
		h := dummyHash(alg)
		if h != dummyHash(alg) {
			t.Fatalf("%s: dummy hash is not reused", alg)
		}
		ok, got, err := VerifyPassword(katPassword, h)
		if err != nil || ok || got != alg {
			t.Fatalf("%s: dummy hash = ok %v alg %q err %v; want a well-formed hash that never matches", alg, ok, got, err)
		}
		// The point of DummyVerify is its cost: an unknown email must cost
		// what a wrong password costs, one key derivation with the same
		// parameters as real hashes (counted, not timed: a stopwatch on a
		// shared machine proves nothing either way).
		before := KeyDerivations()
		DummyVerify("wrong password", alg)
		if n := KeyDerivations() - before; n != 1 {
			t.Errorf("%s: DummyVerify ran %d key derivations, want 1", alg, n)
		}
		real, err := HashPassword("some password", alg)
		if err != nil {
			t.Fatal(err)
		}
		if NeedsRehash(h, alg) || NeedsRehash(real, alg) || hashShape(h) != hashShape(real) {
			t.Errorf("%s: dummy hash %q is not shaped like a real one %q", alg, h, real)
		}
	}
}

// hashShape keeps what sets a hash's cost: argon2id parameters, or scrypt's
// salt and key lengths (its parameters are fixed).
func hashShape(h string) string {
	if strings.HasPrefix(h, "$argon2id$") {
		return strings.Join(strings.Split(h, "$")[:4], "$")
	}
	salt, key, _ := strings.Cut(h, ":")
	return fmt.Sprintf("scrypt %d:%d", len(salt), len(key))
}
