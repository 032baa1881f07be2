// Package push serves Web Push subscriptions: the VAPID public key a browser
// needs to subscribe (public), and registering and removing the signed-in
// user's subscriptions. Sending is shared/pushtrigger's job.
//
// A subscription is keyed by its endpoint. Registering an endpoint that
// another user holds moves it to the caller: the endpoint is a capability of
// the browser, and whoever is signed in on that browser now is the one it
// should notify (the previous user, having signed out there, must not keep
// receiving their messages on someone else's screen). Removing works only on
// the caller's own endpoints; anyone else's answers 404 and stays.
package push

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/store"
)

// Deps are what the handlers use.
type Deps struct {
	DB   *store.DB
	Auth *auth.Authenticator
	// VAPIDPublicKey is VAPID_PUBLIC_KEY; empty means push is not configured.
	VAPIDPublicKey string
	// Rules validate subscriptions; the zero value is production's (https,
	// public hosts only).
	Rules notify.SubscriptionRules
	// Now is the clock for expirationTime; nil means time.Now.
	Now func() time.Time
}

// maxBody bounds a subscription body; real ones are under 1 KB.
const maxBody = 8 << 10

// maxUserAgent bounds the stored User-Agent, kept to help a user tell their
// devices apart.
const maxUserAgent = 512

// New returns the push handler. Only the VAPID key is public.
func New(d Deps) *httpx.Router {
	h := &handler{Deps: d}
	r := httpx.NewRouter()
	authed := r.With(d.Auth.Require)
	r.HandleFunc("GET /api/push/vapid-public-key", h.publicKey)
	authed.HandleFunc("POST /api/push/subscribe", h.subscribe)
	authed.HandleFunc("DELETE /api/push/subscribe", h.unsubscribe)
	return r
}

type handler struct{ Deps }

// errNotConfigured: without VAPID keys no browser can subscribe.
var errNotConfigured = &ari.Error{Code: ari.CodeUnavailable, Message: "push notifications are not configured on this server"}

func (h *handler) publicKey(w http.ResponseWriter, r *http.Request) error {
	if h.VAPIDPublicKey == "" {
		return errNotConfigured
	}
	return httpx.JSON(w, http.StatusOK, map[string]string{"publicKey": h.VAPIDPublicKey})
}

// SubscribeRequest is a browser's PushSubscription.toJSON().
type SubscribeRequest struct {
	Endpoint string `json:"endpoint"`
	// ExpirationTime is milliseconds since the epoch, or null (most browsers).
	ExpirationTime *float64 `json:"expirationTime"`
	Keys           *struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// SubscriptionResponse is what the server keeps, minus the keys.
type SubscriptionResponse struct {
	ID        string   `json:"id"`
	Endpoint  string   `json:"endpoint"`
	CreatedAt ari.Time `json:"createdAt"`
}

func (h *handler) subscribe(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req SubscribeRequest
	if err := httpx.Decode(w, r, &req, maxBody); err != nil {
		return err
	}
	sub := notify.Subscription{Endpoint: req.Endpoint}
	if req.Keys != nil {
		sub.P256dh, sub.Auth = req.Keys.P256dh, req.Keys.Auth
	}
	fields := subscriptionProblems(h.Rules.Validate(sub))
	if req.ExpirationTime != nil {
		now := time.Now
		if h.Now != nil {
			now = h.Now
		}
		if exp := time.UnixMilli(int64(*req.ExpirationTime)); !exp.After(now()) {
			fields["expirationTime"] = "the subscription has already expired"
		}
	}
	if len(fields) > 0 {
		return ari.Invalid(fields)
	}
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	created, err := h.DB.UpsertPushSubscription(r.Context(), c.ID, ari.PushSubscription{
		Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth, UserAgent: ua,
	})
	if err != nil {
		return err
	}
	subs, err := h.DB.PushSubscriptions(r.Context(), c.ID)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.Endpoint == sub.Endpoint {
			status := http.StatusOK
			if created {
				status = http.StatusCreated
			}
			return httpx.JSON(w, status, SubscriptionResponse{ID: s.ID, Endpoint: s.Endpoint, CreatedAt: s.CreatedAt})
		}
	}
	// Taken over again by another user between our two statements.
	return ari.NotFound("subscription")
}

// subscriptionProblems turns notify's joined "field: problem" errors into
// the request's field names.
func subscriptionProblems(err error) map[string]string {
	fields := map[string]string{}
	if err == nil {
		return fields
	}
	names := map[string]string{"endpoint": "endpoint", "p256dh": "keys.p256dh", "auth": "keys.auth"}
	for _, line := range strings.Split(err.Error(), "\n") {
		name, problem, ok := strings.Cut(line, ": ")
		if field, known := names[name]; ok && known {
			fields[field] = problem
		} else {
			fields["subscription"] = line
		}
	}
	return fields
}

// UnsubscribeRequest names the endpoint to forget.
type UnsubscribeRequest struct {
	Endpoint string `json:"endpoint"`
}

// Validate checks the body.
func (u *UnsubscribeRequest) Validate() map[string]string {
	if u.Endpoint == "" {
		return map[string]string{"endpoint": "required"}
	}
	if len(u.Endpoint) > notify.MaxEndpointLength {
		return map[string]string{"endpoint": "too long"}
	}
	return nil
}

func (h *handler) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req UnsubscribeRequest
	if err := httpx.Decode(w, r, &req, maxBody); err != nil {
		return err
	}
	err = h.DB.DeletePushSubscription(r.Context(), c.ID, req.Endpoint)
	if errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("subscription")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
