package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

var (
	// ErrNotDeveloper: the caller has no developer account.
	ErrNotDeveloper = errors.New("store: no developer account")
	// ErrDeveloperExists: the caller already has a developer account.
	ErrDeveloperExists = errors.New("store: developer account exists")
	// ErrVersionExists: the app already has a version with this name.
	ErrVersionExists = errors.New("store: app version exists")
	// ErrNoVersion: the app has no published version yet.
	ErrNoVersion = errors.New("store: app has no published version")
	// ErrSuspended: an operator suspended the app.
	ErrSuspended = errors.New("store: app suspended")
)

// Developer is the caller's developer account with what their apps made:
// installs live now, and coins earned (the sales in their ledger, which
// outlive a buyer's deleted account).
type Developer struct {
	ari.DeveloperAccount
	Apps          int64 `json:"apps"`
	Installs      int64 `json:"installs"`
	EarningsCoins int64 `json:"earningsCoins"`
}

// DeveloperApp is an app as its developer sees it.
type DeveloperApp struct {
	ari.App
	LatestVersion *string `json:"latestVersion"`
	Installs      int64   `json:"installs"`
	EarningsCoins int64   `json:"earningsCoins"`
}

// CatalogueApp is an app as anyone signed in sees it.
type CatalogueApp struct {
	ari.App
	DeveloperName *string `json:"developerName"`
	LatestVersion *string `json:"latestVersion"`
}

// AppDetail is one app with its latest published version, and whether the
// caller has installed it.
type AppDetail struct {
	CatalogueApp
	Version   *ari.AppVersion `json:"version"`
	Installed bool            `json:"installed"`
}

// AppCursor is a position in a list of apps (newest first).
type AppCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// NewApp is what a developer gives to create an app.
type NewApp struct {
	Slug, Name, Description string
	IconURL                 *string
	PriceCoins              int64
	Visibility              string
}

// AppChange is an update: nil fields stay; an empty IconURL clears it.
type AppChange struct {
	Name, Description, IconURL, Visibility *string
	PriceCoins                             *int64
}

// OpenDeveloperAccount makes userID a developer.
func (db *DB) OpenDeveloperAccount(ctx context.Context, userID, displayName string, website *string) (Developer, error) {
	var d Developer
	err := db.Pool.QueryRow(ctx, `insert into developer_accounts (user_id, display_name, website) values ($1, $2, $3)
		returning id, user_id, display_name, website, verified, created_at`, userID, displayName, website).
		Scan(&d.ID, &d.UserID, &d.DisplayName, &d.Website, &d.Verified, &d.CreatedAt)
	if IsUniqueViolation(err, "") {
		return d, ErrDeveloperExists
	}
	return d, err
}

// DeveloperFor returns userID's developer account with its totals, or
// ErrNotFound.
func (db *DB) DeveloperFor(ctx context.Context, userID string) (Developer, error) {
	var d Developer
	err := db.Pool.QueryRow(ctx, `select d.id, d.user_id, d.display_name, d.website, d.verified, d.created_at,
			(select count(*) from apps a where a.developer_id = d.id),
			(select count(*) from app_purchases p join apps a on a.id = p.app_id where a.developer_id = d.id),
			(select coalesce(sum(amount), 0) from coin_transactions t where t.user_id = d.user_id and t.reason = 'sale')
		from developer_accounts d where d.user_id = $1`, userID).
		Scan(&d.ID, &d.UserID, &d.DisplayName, &d.Website, &d.Verified, &d.CreatedAt, &d.Apps, &d.Installs, &d.EarningsCoins)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNotFound
	}
	return d, err
}

// appColumns is read by scanApp, in this order.
const appColumns = `a.id, a.developer_id, a.slug, a.name, a.description, a.icon_url, a.price_coins,
	a.visibility, a.status, a.created_at, a.updated_at`

func appDest(a *ari.App) []any {
	return []any{&a.ID, &a.DeveloperID, &a.Slug, &a.Name, &a.Description, &a.IconURL, &a.PriceCoins,
		&a.Visibility, &a.Status, &a.CreatedAt, &a.UpdatedAt}
}

// latestVersion is the newest published version's name of app a.
const latestVersion = `(select v.version from app_versions v where v.app_id = a.id and v.published_at is not null
	order by v.published_at desc, v.id desc limit 1)`

// developerAppSelect reads DeveloperApp rows; $1 is the developer's user id.
const developerAppSelect = `select ` + appColumns + `, ` + latestVersion + `,
		(select count(*) from app_purchases p where p.app_id = a.id),
		(select coalesce(sum(t.amount), 0) from coin_transactions t
		 where t.user_id = $1 and t.reason = 'sale' and t.reference_id = a.id)
	from apps a join developer_accounts d on d.id = a.developer_id and d.user_id = $1`

func scanDeveloperApp(row pgx.Row) (DeveloperApp, error) {
	var a DeveloperApp
	err := row.Scan(append(appDest(&a.App), &a.LatestVersion, &a.Installs, &a.EarningsCoins)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// CreateApp creates a draft app for userID's developer account
// (ErrNotDeveloper without one, ErrSlugTaken when the slug is in use).
func (db *DB) CreateApp(ctx context.Context, userID string, n NewApp) (DeveloperApp, error) {
	var id string
	err := db.Pool.QueryRow(ctx, `insert into apps (developer_id, slug, name, description, icon_url, price_coins, visibility)
		select d.id, $2, $3, $4, $5, $6, $7 from developer_accounts d where d.user_id = $1
		returning id`, userID, n.Slug, n.Name, n.Description, n.IconURL, n.PriceCoins, n.Visibility).Scan(&id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return DeveloperApp{}, ErrNotDeveloper
	case IsUniqueViolation(err, ""):
		return DeveloperApp{}, ErrSlugTaken
	case err != nil:
		return DeveloperApp{}, err
	}
	return db.DeveloperAppFor(ctx, userID, id)
}

// DeveloperAppFor returns one of userID's apps, or ErrNotFound.
func (db *DB) DeveloperAppFor(ctx context.Context, userID, appID string) (DeveloperApp, error) {
	return scanDeveloperApp(db.Pool.QueryRow(ctx, developerAppSelect+` where a.id = $2`, userID, appID))
}

// DeveloperApps lists userID's apps, newest first.
func (db *DB) DeveloperApps(ctx context.Context, userID string, after *AppCursor, limit int) ([]DeveloperApp, error) {
	t, id := appCursorArgs(after)
	rows, err := db.Pool.Query(ctx, developerAppSelect+`
		where ($2::timestamptz is null or (a.created_at, a.id) < ($2, $3))
		order by a.created_at desc, a.id desc limit $4`, userID, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeveloperApp, error) { return scanDeveloperApp(r) })
}

func appCursorArgs(after *AppCursor) (*time.Time, string) {
	if after == nil {
		return nil, ""
	}
	return &after.CreatedAt, after.ID
}

// UpdateApp changes one of userID's apps (ErrNotFound when it is not theirs).
func (db *DB) UpdateApp(ctx context.Context, userID, appID string, c AppChange) (DeveloperApp, error) {
	var icon *string
	if c.IconURL != nil && *c.IconURL != "" {
		icon = c.IconURL
	}
	tag, err := db.Pool.Exec(ctx, `update apps a set
			name = coalesce($3, a.name), description = coalesce($4, a.description),
			icon_url = case when $5 then $6 else a.icon_url end,
			price_coins = coalesce($7, a.price_coins), visibility = coalesce($8, a.visibility), updated_at = now()
		from developer_accounts d where d.id = a.developer_id and d.user_id = $1 and a.id = $2`,
		userID, appID, c.Name, c.Description, c.IconURL != nil, icon, c.PriceCoins, c.Visibility)
	if err != nil {
		return DeveloperApp{}, err
	}
	if tag.RowsAffected() == 0 {
		return DeveloperApp{}, ErrNotFound
	}
	return db.DeveloperAppFor(ctx, userID, appID)
}

// SetAppListed publishes (listed) or unpublishes one of userID's apps.
// Publishing needs a published version (ErrNoVersion); a suspended app stays
// suspended (ErrSuspended).
func (db *DB) SetAppListed(ctx context.Context, userID, appID string, listed bool) (DeveloperApp, error) {
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var status string
		var versions int
		err := tx.QueryRow(ctx, `select a.status, (select count(*) from app_versions v where v.app_id = a.id and v.published_at is not null)
			from apps a join developer_accounts d on d.id = a.developer_id and d.user_id = $1
			where a.id = $2 for update of a`, userID, appID).Scan(&status, &versions)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case status == ari.AppSuspended:
			return ErrSuspended
		case listed && versions == 0:
			return ErrNoVersion
		}
		next := ari.AppUnpublished
		if listed {
			next = ari.AppPublished
		} else if status == ari.AppDraft {
			next = ari.AppDraft
		}
		_, err = tx.Exec(ctx, `update apps set status = $2, updated_at = now() where id = $1`, appID, next)
		return err
	})
	if err != nil {
		return DeveloperApp{}, err
	}
	return db.DeveloperAppFor(ctx, userID, appID)
}

// PublishVersion stores an immutable published version of one of userID's
// apps and lists the app (unless suspended). manifest must already be
// validated (appbridge.ValidateManifest). ErrNotFound when the app is not
// theirs, ErrVersionExists when the name is taken.
func (db *DB) PublishVersion(ctx context.Context, userID, appID, version string, manifest json.RawMessage) (ari.AppVersion, error) {
	var v ari.AppVersion
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `select 1 from apps a join developer_accounts d on d.id = a.developer_id and d.user_id = $1
			where a.id = $2 for update of a`, userID, appID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `insert into app_versions (app_id, version, manifest, published_at)
			values ($1, $2, $3, clock_timestamp())
			returning id, app_id, version, manifest, created_at, published_at`, appID, version, manifest).
			Scan(&v.ID, &v.AppID, &v.Version, &v.Manifest, &v.CreatedAt, &v.PublishedAt)
		if IsUniqueViolation(err, "") {
			return ErrVersionExists
		} else if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `update apps set status = 'published', updated_at = now()
			where id = $1 and status <> 'suspended'`, appID)
		return err
	})
	return v, err
}

// AppVersions lists the versions of one of userID's apps, newest first
// (ErrNotFound when the app is not theirs).
func (db *DB) AppVersions(ctx context.Context, userID, appID string, after *AppCursor, limit int) ([]ari.AppVersion, error) {
	if _, err := db.DeveloperAppFor(ctx, userID, appID); err != nil {
		return nil, err
	}
	t, id := appCursorArgs(after)
	rows, err := db.Pool.Query(ctx, `select id, app_id, version, manifest, created_at, published_at from app_versions
		where app_id = $1 and ($2::timestamptz is null or (created_at, id) < ($2, $3))
		order by created_at desc, id desc limit $4`, appID, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.AppVersion, error) {
		var v ari.AppVersion
		err := r.Scan(&v.ID, &v.AppID, &v.Version, &v.Manifest, &v.CreatedAt, &v.PublishedAt)
		return v, err
	})
}

// catalogueSelect reads CatalogueApp rows.
const catalogueSelect = `select ` + appColumns + `, d.display_name, ` + latestVersion + `
	from apps a left join developer_accounts d on d.id = a.developer_id`

func scanCatalogueApp(row pgx.Row) (CatalogueApp, error) {
	var a CatalogueApp
	err := row.Scan(append(appDest(&a.App), &a.DeveloperName, &a.LatestVersion)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// likeEscaper makes user text literal inside an ILIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Catalogue lists published public apps, newest first; a non-empty query
// keeps those whose name, slug or description contains it (any case).
func (db *DB) Catalogue(ctx context.Context, query string, after *AppCursor, limit int) ([]CatalogueApp, error) {
	t, id := appCursorArgs(after)
	pattern := ""
	if query != "" {
		pattern = "%" + likeEscaper.Replace(query) + "%"
	}
	rows, err := db.Pool.Query(ctx, catalogueSelect+`
		where a.status = 'published' and a.visibility = 'public'
		  and ($1 = '' or a.name ilike $1 or a.slug ilike $1 or a.description ilike $1)
		  and ($2::timestamptz is null or (a.created_at, a.id) < ($2, $3))
		order by a.created_at desc, a.id desc limit $4`, pattern, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CatalogueApp, error) { return scanCatalogueApp(r) })
}

// AppFor returns an app as userID may see it: a published app (listed or
// not), their own, or one they installed; anything else is ErrNotFound.
func (db *DB) AppFor(ctx context.Context, userID, appID string) (AppDetail, error) {
	var d AppDetail
	row := db.Pool.QueryRow(ctx, catalogueSelect+`
		where a.id = $2 and (a.status = 'published' or d.user_id = $1
		  or exists (select 1 from app_purchases p where p.app_id = a.id and p.user_id = $1))`, userID, appID)
	var err error
	if d.CatalogueApp, err = scanCatalogueApp(row); err != nil {
		return d, err
	}
	var v ari.AppVersion
	err = db.Pool.QueryRow(ctx, `select id, app_id, version, manifest, created_at, published_at from app_versions
		where app_id = $1 and published_at is not null order by published_at desc, id desc limit 1`, appID).
		Scan(&v.ID, &v.AppID, &v.Version, &v.Manifest, &v.CreatedAt, &v.PublishedAt)
	switch {
	case err == nil:
		d.Version = &v
	case !errors.Is(err, pgx.ErrNoRows):
		return d, err
	}
	err = db.Pool.QueryRow(ctx, `select exists (select 1 from app_purchases where user_id = $1 and app_id = $2)`, userID, appID).Scan(&d.Installed)
	return d, err
}
