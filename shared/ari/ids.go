package ari

// MaxIDBytes bounds every id a client sends: row ids (UUIDs, Better Auth's
// 32-character ids), clientMessageIds and cursors' keys alike.
const MaxIDBytes = 64

// ValidID reports whether s can be an id: 1..MaxIDBytes of [A-Za-z0-9_-].
// Every id this system makes has that shape (gen_random_uuid, Better Auth's
// generateId), so anything else names nothing and is refused before a query;
// the charset also keeps ids safe inside Redis keys, whose {hash tags} a
// brace would break.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
