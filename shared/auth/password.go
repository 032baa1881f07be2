package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/scrypt"
	"golang.org/x/text/unicode/norm"
)

// Algorithm names a password hashing scheme that HashPassword can write and
// VerifyPassword can read.
type Algorithm string

const (
	// Scrypt is Better Auth's default format, "<saltHex>:<keyHex>". Hashes
	// written with it verify on a stock Better Auth, so it is the default.
	Scrypt Algorithm = "scrypt"
	// Argon2id writes a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
	// Stock Better Auth cannot verify these; choose it only when every
	// server sharing the database runs this code (or a Better Auth
	// configured with a matching argon2id verifier).
	Argon2id Algorithm = "argon2id"
)

// ParseAlgorithm maps a configuration value to an Algorithm. The empty string
// means the default, Scrypt.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", string(Scrypt):
		return Scrypt, nil
	case string(Argon2id):
		return Argon2id, nil
	}
	return "", fmt.Errorf("auth: unknown password algorithm %q (want scrypt or argon2id)", s)
}

// Better Auth's scrypt parameters (@better-auth/utils password.node). They are
// part of the stored format's meaning, so they are fixed, not configurable.
const (
	scryptN      = 16384
	scryptR      = 16
	scryptP      = 1
	scryptKeyLen = 64
	scryptSalt   = 16 // random bytes, stored and used as 32 hex characters
)

// Argon2id parameters for new hashes: the OWASP Password Storage Cheat Sheet's
// first recommended configuration (m=19 MiB, t=2, p=1). At 19 MiB a hash costs
// less memory than Better Auth's scrypt (32 MiB) and roughly the same time, so
// a burst of sign-ins on a small Lambda behaves alike with either algorithm.
const (
	argon2Memory  = 19 * 1024 // KiB
	argon2Time    = 2
	argon2Threads = 1
	argon2KeyLen  = 32
	argon2SaltLen = 16
)

// Upper bounds on the cost parameters VerifyPassword accepts from a stored
// argon2id string. A row is trusted data, but a bound keeps one corrupt or
// hostile row from making a single sign-in allocate gigabytes.
const (
	argon2MaxMemory  = 256 * 1024 // KiB
	argon2MaxTime    = 16
	argon2MaxThreads = 16
	argon2MaxKeyLen  = 128
)

// Password length rules Better Auth applies by default, in UTF-16 code units.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 128
)

var (
	// ErrPasswordTooShort and ErrPasswordTooLong are CheckPasswordLength's
	// answers; callers map them to Better Auth's PASSWORD_TOO_SHORT/LONG.
	ErrPasswordTooShort = errors.New("auth: password too short")
	ErrPasswordTooLong  = errors.New("auth: password too long")
	// ErrMalformedHash means a stored hash is in no format we know. Sign-in
	// treats it like a wrong password; it is an error so it can be logged.
	ErrMalformedHash = errors.New("auth: malformed password hash")
)

// CheckPasswordLength applies Better Auth's length rules. Length is counted as
// JavaScript's string.length does (UTF-16 code units, before NFKC), so a
// password accepted by one server is accepted by the other: an emoji outside
// the Basic Multilingual Plane counts as 2.
func CheckPasswordLength(pw string, min, max int) error {
	n := utf16Len(pw)
	if n < min {
		return ErrPasswordTooShort
	}
	if n > max {
		return ErrPasswordTooLong
	}
	return nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// HashPassword hashes pw for storage in account.password.
func HashPassword(pw string, alg Algorithm) (string, error) {
	switch alg {
	case Scrypt:
		salt := make([]byte, scryptSalt)
		_, _ = rand.Read(salt)
		saltHex := hex.EncodeToString(salt)
		key, err := scryptKey(pw, saltHex)
		if err != nil {
			return "", err
		}
		return saltHex + ":" + hex.EncodeToString(key), nil
	case Argon2id:
		salt := make([]byte, argon2SaltLen)
		_, _ = rand.Read(salt)
		p := argon2Params{memory: argon2Memory, time: argon2Time, threads: argon2Threads}
		key := argon2Key(pw, salt, p, argon2KeyLen)
		return p.format(salt, key), nil
	}
	return "", fmt.Errorf("auth: cannot hash with unknown algorithm %q", alg)
}

// VerifyPassword reports whether pw matches stored and which algorithm stored
// uses, so the caller can re-hash with the configured one (see NeedsRehash).
// The key comparison runs in constant time.
func VerifyPassword(pw, stored string) (ok bool, alg Algorithm, err error) {
	if strings.HasPrefix(stored, "$argon2id$") {
		p, salt, want, err := parseArgon2(stored)
		if err != nil {
			return false, Argon2id, err
		}
		got := argon2Key(pw, salt, p, uint32(len(want)))
		return subtle.ConstantTimeCompare(got, want) == 1, Argon2id, nil
	}
	saltHex, keyHex, found := strings.Cut(stored, ":")
	if !found || saltHex == "" || len(keyHex) != 2*scryptKeyLen || strings.Contains(keyHex, ":") {
		return false, "", ErrMalformedHash
	}
	got, err := scryptKey(pw, saltHex)
	if err != nil {
		return false, Scrypt, err
	}
	// Better Auth compares the lowercase hex strings, so an uppercase stored
	// key never matches there; comparing the hex text keeps the same answer.
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(got)), []byte(keyHex)) == 1, Scrypt, nil
}

// NeedsRehash reports whether stored should be replaced by a fresh hash in
// algorithm want: it is in another algorithm, or it is argon2id with
// parameters other than the current ones. Call it only after a successful
// VerifyPassword, with the plaintext still at hand.
func NeedsRehash(stored string, want Algorithm) bool {
	if want == Argon2id {
		p, _, key, err := parseArgon2(stored)
		if err != nil {
			return true
		}
		return p.memory != argon2Memory || p.time != argon2Time || p.threads != argon2Threads || len(key) != argon2KeyLen
	}
	return strings.HasPrefix(stored, "$")
}

// DummyVerify spends the same work as verifying a password hashed with alg,
// and always fails. Sign-in calls it when no user or no credential account
// exists, so that an unknown email and a wrong password take the same time.
func DummyVerify(pw string, alg Algorithm) {
	stored := dummyHash(alg)
	_, _, _ = VerifyPassword(pw, stored)
}

var dummyHashes sync.Map // Algorithm -> string

// dummyHash returns a hash of a random throwaway password, made once per
// algorithm and process, with the same parameters as real hashes.
func dummyHash(alg Algorithm) string {
	if alg != Argon2id {
		alg = Scrypt
	}
	if h, ok := dummyHashes.Load(alg); ok {
		return h.(string)
	}
	h, err := HashPassword(GenerateID(IDLength), alg)
	if err != nil {
		// Unreachable with a known algorithm; fall back to a well-formed
		// hash so the caller still pays for one derivation.
		h = strings.Repeat("0", 2*scryptSalt) + ":" + strings.Repeat("0", 2*scryptKeyLen)
	}
	actual, _ := dummyHashes.LoadOrStore(alg, h)
	return actual.(string)
}

// normalize applies NFKC as Better Auth does before hashing, so a password
// typed in full-width or composed form verifies against the same hash.
func normalize(pw string) []byte {
	return []byte(norm.NFKC.String(pw))
}

// scryptKey derives Better Auth's scrypt key. The salt is the hex text's ASCII
// bytes, never the decoded bytes: that is what Better Auth passes to scrypt.
func scryptKey(pw, saltHex string) ([]byte, error) {
	derivations.Add(1)
	key, err := scrypt.Key(normalize(pw), []byte(saltHex), scryptN, scryptR, scryptP, scryptKeyLen)
	if err != nil {
		return nil, fmt.Errorf("auth: scrypt: %w", err)
	}
	return key, nil
}

type argon2Params struct {
	memory  uint32
	time    uint32
	threads uint8
}

// format writes the PHC string form used by the reference argon2 tools and by
// libraries such as node's argon2: unpadded standard base64 for salt and hash.
func (p argon2Params) format(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parseArgon2 reads "$argon2id$v=19$m=M,t=T,p=P$salt$hash". The parameters
// may appear in any order; the version must be 19 (the only one x/crypto
// implements).
func parseArgon2(s string) (argon2Params, []byte, []byte, error) {
	var p argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported argon2 version %q", ErrMalformedHash, parts[2])
	}
	seen := 0
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, ErrMalformedHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, ErrMalformedHash
		}
		switch k {
		case "m":
			p.memory = uint32(n)
			seen |= 1
		case "t":
			p.time = uint32(n)
			seen |= 2
		case "p":
			if n > 255 {
				return p, nil, nil, ErrMalformedHash
			}
			p.threads = uint8(n)
			seen |= 4
		default:
			return p, nil, nil, ErrMalformedHash
		}
	}
	if seen != 7 || p.time < 1 || p.time > argon2MaxTime || p.threads < 1 || p.threads > argon2MaxThreads ||
		p.memory < 8*uint32(p.threads) || p.memory > argon2MaxMemory {
		return p, nil, nil, fmt.Errorf("%w: argon2 parameters out of range", ErrMalformedHash)
	}
	salt, err := decodeB64Loose(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, ErrMalformedHash
	}
	key, err := decodeB64Loose(parts[5])
	if err != nil || len(key) < 16 || len(key) > argon2MaxKeyLen {
		return p, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}

// decodeB64Loose accepts PHC's unpadded base64 and, for hashes written by
// tools that pad, the padded form too.
func decodeB64Loose(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

func argon2Key(pw string, salt []byte, p argon2Params, n uint32) []byte {
	derivations.Add(1)
	return argon2.IDKey(normalize(pw), salt, p.time, p.memory, p.threads, n)
}

// derivations counts password key derivations, the cost that must not differ
// between an unknown email and a wrong password.
var derivations atomic.Int64

// KeyDerivations returns how many password key derivations (scrypt or
// argon2id) this process has run. Tests use it to prove that every sign-in
// path costs exactly one, whatever the email.
func KeyDerivations() int64 { return derivations.Load() }
