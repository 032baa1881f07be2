package ari

import (
	"fmt"
	"net/url"
)

// WebURLProblem says what keeps s from being a link other users may be shown
// (an avatar, a profile image): an absolute http or https URL of at most
// MaxURL bytes. It returns "" when s is fine.
func WebURLProblem(s string) string {
	if len(s) > MaxURL {
		return fmt.Sprintf("at most %d bytes", MaxURL)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http or https URL"
	}
	return ""
}
