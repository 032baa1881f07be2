package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ari-chat/ari-server/shared/config"
	"golang.org/x/oauth2"
)

// profile is what a provider says about its user.
type profile struct {
	ID            string
	Email         string
	EmailVerified bool
	Name          string
	Image         string
}

// provider is one configured OAuth provider. Endpoints come from the
// configuration so tests (and self-hosted GitHub Enterprise) can move them.
type provider struct {
	id       string
	clientID string
	secret   string
	endpoint oauth2.Endpoint
	scopes   []string
	extra    []oauth2.AuthCodeOption
	profile  func(ctx context.Context, c *http.Client, tok *oauth2.Token) (profile, error)
}

// providersFrom returns the providers whose client id and secret are set; asking
// for another answers PROVIDER_NOT_FOUND, as Better Auth does.
func providersFrom(c config.Config) map[string]*provider {
	m := map[string]*provider{}
	if c.GoogleClientID != "" && c.GoogleClientSecret != "" {
		userinfo := c.GoogleUserInfoURL
		m["google"] = &provider{
			id: "google", clientID: c.GoogleClientID, secret: c.GoogleClientSecret,
			endpoint: oauth2.Endpoint{AuthURL: c.GoogleAuthURL, TokenURL: c.GoogleTokenURL, AuthStyle: oauth2.AuthStyleInParams},
			scopes:   []string{"email", "profile", "openid"},
			extra:    []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("include_granted_scopes", "true")},
			profile: func(ctx context.Context, hc *http.Client, tok *oauth2.Token) (profile, error) {
				return googleProfile(ctx, hc, userinfo, tok)
			},
		}
	}
	if c.GitHubClientID != "" && c.GitHubClientSecret != "" {
		api := strings.TrimRight(c.GitHubAPIURL, "/")
		m["github"] = &provider{
			id: "github", clientID: c.GitHubClientID, secret: c.GitHubClientSecret,
			endpoint: oauth2.Endpoint{AuthURL: c.GitHubAuthURL, TokenURL: c.GitHubTokenURL, AuthStyle: oauth2.AuthStyleInParams},
			scopes:   []string{"read:user", "user:email"},
			profile: func(ctx context.Context, hc *http.Client, tok *oauth2.Token) (profile, error) {
				return githubProfile(ctx, hc, api, tok)
			},
		}
	}
	return m
}

func (p *provider) config(redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.clientID, ClientSecret: p.secret, Endpoint: p.endpoint,
		RedirectURL: redirectURI, Scopes: p.scopes}
}

// authURL is the provider's authorization URL with state and a PKCE S256
// challenge of verifier.
func (p *provider) authURL(redirectURI, state, verifier, loginHint string) string {
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, p.extra...)
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	return p.config(redirectURI).AuthCodeURL(state, opts...)
}

// getJSON GETs url with the access token and decodes a JSON answer of at
// most 1 MiB.
func getJSON(ctx context.Context, hc *http.Client, url string, tok *oauth2.Token, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	// GitHub refuses requests without a User-Agent.
	req.Header.Set("User-Agent", "ari-server")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		return fmt.Errorf("GET %s: status %d", url, res.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(dst)
}

// googleProfile reads the OpenID Connect userinfo endpoint.
func googleProfile(ctx context.Context, hc *http.Client, userinfo string, tok *oauth2.Token) (profile, error) {
	var info struct {
		Sub           string          `json:"sub"`
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
		Name          string          `json:"name"`
		Picture       string          `json:"picture"`
	}
	if err := getJSON(ctx, hc, userinfo, tok, &info); err != nil {
		return profile{}, err
	}
	// Google has sent email_verified both as a boolean and as "true".
	verified := strings.Trim(string(info.EmailVerified), `"`) == "true"
	return profile{ID: info.Sub, Email: info.Email, EmailVerified: verified, Name: info.Name, Image: info.Picture}, nil
}

// githubProfile reads /user and /user/emails: the email is the profile's
// public one or else the primary address, and it counts as verified only if
// GitHub says that address is.
func githubProfile(ctx context.Context, hc *http.Client, api string, tok *oauth2.Token) (profile, error) {
	var u struct {
		ID        json.Number `json:"id"`
		Login     string      `json:"login"`
		Name      string      `json:"name"`
		Email     string      `json:"email"`
		AvatarURL string      `json:"avatar_url"`
	}
	if err := getJSON(ctx, hc, api+"/user", tok, &u); err != nil {
		return profile{}, err
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := getJSON(ctx, hc, api+"/user/emails", tok, &emails); err != nil {
		return profile{}, err
	}
	email := u.Email
	if email == "" {
		for _, e := range emails {
			if e.Primary {
				email = e.Email
			}
		}
		if email == "" && len(emails) > 0 {
			email = emails[0].Email
		}
	}
	verified := false
	for _, e := range emails {
		if e.Email == email {
			verified = e.Verified
		}
	}
	id := u.ID.String()
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return profile{}, fmt.Errorf("github: user id %q is not a number", id)
	}
	name := u.Name
	if name == "" {
		name = u.Login
	}
	return profile{ID: id, Email: email, EmailVerified: verified, Name: name, Image: u.AvatarURL}, nil
}
