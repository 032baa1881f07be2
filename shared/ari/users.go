package ari

// MaxUserName bounds a user's name in characters; sign-up refuses longer.
const MaxUserName = 100

// User is a row of Better Auth's "user" table.
type User struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	Email         string  `json:"email"`
	EmailVerified bool    `json:"emailVerified"`
	Image         *string `json:"image"`
	CreatedAt     Time    `json:"createdAt"`
	UpdatedAt     Time    `json:"updatedAt"`
}

// Session is a row of Better Auth's "session" table.
type Session struct {
	ID        string  `json:"id"`
	Token     string  `json:"token"`
	UserID    string  `json:"userId"`
	ExpiresAt Time    `json:"expiresAt"`
	CreatedAt Time    `json:"createdAt"`
	UpdatedAt Time    `json:"updatedAt"`
	IPAddress *string `json:"ipAddress"`
	UserAgent *string `json:"userAgent"`
}

// Account is a row of Better Auth's "account" table (credential or OAuth link).
type Account struct {
	ID                    string
	AccountID             string
	ProviderID            string
	UserID                string
	AccessToken           *string
	RefreshToken          *string
	IDToken               *string
	AccessTokenExpiresAt  *Time
	RefreshTokenExpiresAt *Time
	Scope                 *string
	Password              *string
	CreatedAt             Time
	UpdatedAt             Time
}

// Verification is a row of Better Auth's "verification" table (OAuth state etc.).
type Verification struct {
	ID         string
	Identifier string
	Value      string
	ExpiresAt  Time
	CreatedAt  Time
	UpdatedAt  Time
}
