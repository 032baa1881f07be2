// Package auth holds the pieces of authentication that must match Better Auth
// 1.7 byte for byte (password hashes, ids and tokens, signed cookies), so that
// this server and a stock Better Auth can share one database and one secret.
package auth

import "crypto/rand"

// Alphabets Better Auth draws from. The order matters only for which byte maps
// to which character; it is kept as Better Auth has it so the distribution is
// the same.
const (
	// IDAlphabet is used for every row id and session token (generateId).
	IDAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	// URLSafeAlphabet is used for OAuth state and PKCE verifiers
	// (generateRandomString).
	URLSafeAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
)

// IDLength is the length Better Auth uses for ids and session tokens.
const IDLength = 32

// GenerateID returns n characters of [a-zA-Z0-9] from crypto/rand, as Better
// Auth's generateId does. n <= 0 means IDLength.
func GenerateID(n int) string {
	if n <= 0 {
		n = IDLength
	}
	return RandomString(n, IDAlphabet)
}

// RandomString returns n characters drawn uniformly from alphabet (at most 256
// distinct bytes). Bytes at or above the largest multiple of len(alphabet) are
// thrown away rather than folded with a modulo, because folding would make the
// first characters of the alphabet more likely.
func RandomString(n int, alphabet string) string {
	if n <= 0 || len(alphabet) == 0 || len(alphabet) > 256 {
		return ""
	}
	size := len(alphabet)
	limit := 256 / size * size
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		// crypto/rand.Read never returns an error on supported platforms
		// (Go 1.24+ aborts the program instead), so there is nothing to handle.
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, alphabet[int(b)%size])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}
