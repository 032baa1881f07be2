package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

var plainOwner = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// OwnerSegment is a user's id as a key segment; ids that are not plain
// (none are today) are hashed rather than trusted inside a key. Uploads
// name every object of a user under it.
func OwnerSegment(ownerID string) string {
	if plainOwner.MatchString(ownerID) {
		return ownerID
	}
	sum := sha256.Sum256([]byte(ownerID))
	return hex.EncodeToString(sum[:16])
}

// UserPrefixes are the key prefixes holding a user's objects: checked files
// (u/) and presigned uploads not yet checked (incoming/).
func UserPrefixes(ownerID string) []string {
	seg := OwnerSegment(ownerID)
	return []string{"u/" + seg + "/", "incoming/" + seg + "/"}
}
