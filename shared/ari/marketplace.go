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

// App is a row of apps.
type App struct {
	ID          string `json:"id"`
	DeveloperID string `json:"developerId"`
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description"`
	PriceCoins  int64  `json:"priceCoins"`
	Status      string `json:"status"` // draft | published | suspended
	CreatedAt   Time   `json:"createdAt"`
}

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
	CreatedAt    Time    `json:"createdAt"`
}

// AppPurchase is a row of app_purchases.
type AppPurchase struct {
	ID            string `json:"id"`
	UserID        string `json:"userId"`
	AppID         string `json:"appId"`
	TransactionID string `json:"transactionId"`
	PriceCoins    int64  `json:"priceCoins"`
	CreatedAt     Time   `json:"createdAt"`
}
