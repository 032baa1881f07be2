package ari

import "encoding/json"

// DeveloperAccount is a row of developer_accounts: a user who publishes apps.
type DeveloperAccount struct {
	ID          string  `json:"id"`
	UserID      string  `json:"userId"`
	DisplayName string  `json:"displayName"`
	Website     *string `json:"website"`
	Verified    bool    `json:"verified"`
	CreatedAt   Time    `json:"createdAt"`
}

// App is a row of apps. DeveloperID is nil once its developer deleted their
// account (the app stays, unpublished, for the people who installed it).
type App struct {
	ID          string  `json:"id"`
	DeveloperID *string `json:"developerId"`
	Slug        string  `json:"slug"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	IconURL     *string `json:"iconUrl"`
	PriceCoins  int64   `json:"priceCoins"`
	Visibility  string  `json:"visibility"` // public | unlisted
	Status      string  `json:"status"`     // draft | published | unpublished | suspended
	CreatedAt   Time    `json:"createdAt"`
	UpdatedAt   Time    `json:"updatedAt"`
}

// App visibilities and statuses.
const (
	AppPublic      = "public"
	AppUnlisted    = "unlisted"
	AppDraft       = "draft"
	AppPublished   = "published"
	AppUnpublished = "unpublished"
	AppSuspended   = "suspended"
)

// AppVersion is a row of app_versions; Manifest is parsed by shared/appbridge.
type AppVersion struct {
	ID          string          `json:"id"`
	AppID       string          `json:"appId"`
	Version     string          `json:"version"`
	Manifest    json.RawMessage `json:"manifest"`
	CreatedAt   Time            `json:"createdAt"`
	PublishedAt *Time           `json:"publishedAt,omitempty"`
}

// CoinBalance is a row of coin_balances; the database keeps Balance >= 0.
type CoinBalance struct {
	UserID    string `json:"userId"`
	Balance   int64  `json:"balance"`
	UpdatedAt Time   `json:"updatedAt"`
}

// CoinTransaction is a row of coin_transactions. Inserting one moves the
// balance in the same statement (a trigger); a debit past zero fails whole.
type CoinTransaction struct {
	ID           string  `json:"id"`
	UserID       string  `json:"userId"`
	Amount       int64   `json:"amount"`
	Reason       string  `json:"reason"` // purchase | grant | refund | payout | adjustment
	ReferenceID  *string `json:"referenceId"`
	BalanceAfter int64   `json:"balanceAfter"`
	// IdempotencyKey is the key the movement's caller chose (nil for the
	// developer's side of a sale, which rides on the buyer's key).
	IdempotencyKey *string `json:"idempotencyKey"`
	CreatedAt      Time    `json:"createdAt"`
}

// AppPurchase is a row of app_purchases: one install. A free app (and a
// developer's own) installs without a ledger entry: TransactionID is nil.
type AppPurchase struct {
	ID             string  `json:"id"`
	UserID         string  `json:"userId"`
	AppID          string  `json:"appId"`
	TransactionID  *string `json:"transactionId"`
	PriceCoins     int64   `json:"priceCoins"`
	IdempotencyKey *string `json:"idempotencyKey"`
	CreatedAt      Time    `json:"createdAt"`
}

// AppSession is a row of app_sessions: an app version open in a
// conversation. Version counts state changes (optimistic concurrency).
type AppSession struct {
	ID             string          `json:"id"`
	ConversationID string          `json:"conversationId"`
	AppID          string          `json:"appId"`
	AppVersionID   string          `json:"appVersionId"`
	OpenedBy       *string         `json:"openedBy"`
	AgentID        *string         `json:"agentId"`
	Mode           string          `json:"mode"` // user_only | agent_only | shared
	State          json.RawMessage `json:"state"`
	Version        int64           `json:"version"`
	CreatedAt      Time            `json:"createdAt"`
	UpdatedAt      Time            `json:"updatedAt"`
	EndedAt        *Time           `json:"endedAt"`
	EndedBy        *string         `json:"endedBy"`
}

// AppSessionView is an app session with what a client needs to run it: the
// app's slug and name, the version's name and its manifest's entry URL.
type AppSessionView struct {
	AppSession
	AppSlug    string `json:"appSlug"`
	AppName    string `json:"appName"`
	AppVersion string `json:"appVersion"`
	EntryURL   string `json:"entryUrl"`
}

// States of an app tool call.
const (
	ToolCallPending  = "pending"
	ToolCallAnswered = "answered"
	ToolCallExpired  = "expired"
	// ToolCallRefused: refused before it reached the app (the bridge's
	// codes, app_unavailable); answered and given to the agent at once.
	ToolCallRefused = "refused"
)

// AppToolCall is an agent's accepted call of an app action (a row of
// app_tool_calls): sent to the client running the app, answered by its
// first app_action_result or expired, then given to the agent once.
type AppToolCall struct {
	ID           string  `json:"id"`
	SessionID    string  `json:"sessionId"`
	ReplyID      string  `json:"replyId"`
	AgentID      string  `json:"agentId"`
	CallID       string  `json:"callId"`
	Action       string  `json:"action"`
	Arguments    string  `json:"arguments"` // canonical JSON text
	State        string  `json:"state"`
	Result       *string `json:"result"` // JSON text
	ErrorCode    *string `json:"errorCode"`
	ErrorMessage *string `json:"errorMessage"`
	CreatedAt    Time    `json:"createdAt"`
	ExpiresAt    Time    `json:"expiresAt"`
	AnsweredAt   *Time   `json:"answeredAt"`
	DeliveredAt  *Time   `json:"deliveredAt"`
}

// Kinds of app events.
const (
	AppEventAction = "action" // a member invoked one of the app's actions
	AppEventState  = "state"  // the app reported one of its declared events
)

// AppEvent is what a member did in an app session, or what the app
// reported (a row of app_events): given to the session's agent live and in
// the history of its next tasks.
type AppEvent struct {
	ID             string  `json:"id"`
	SessionID      string  `json:"sessionId"`
	ConversationID string  `json:"conversationId"`
	UserID         *string `json:"userId"`
	ClientID       string  `json:"clientId"`
	Kind           string  `json:"kind"`
	Name           string  `json:"name"`
	Data           *string `json:"data"` // JSON text
	CreatedAt      Time    `json:"createdAt"`
}
