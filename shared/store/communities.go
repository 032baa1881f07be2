package store

import (
	"context"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Communities: public or private spaces with channels. Who may see what:
// a private community does not exist for anyone but its members (ErrNotFound,
// the same answer as an unknown id); a public one shows its profile to every
// signed-in user but its channels, members and messages only to members
// (ErrNotMember). A banned user is no member and cannot become one again
// (ErrBanned; the database's trigger refuses the row).

// Errors of community access the caller may see.
var (
	// ErrNotMember: the community is public, but what was asked is for members.
	ErrNotMember = errors.New("store: not a member of the community")
	// ErrBanned: the caller is banned from the community.
	ErrBanned = errors.New("store: banned from the community")
	// ErrSlugTaken: another community has the slug.
	ErrSlugTaken = errors.New("store: slug taken")
	// ErrInviteInvalid: no usable invite has the code (unknown, expired,
	// used up or revoked; the cases are not told apart).
	ErrInviteInvalid = errors.New("store: invite not valid")
	// ErrNameTaken: another channel of the community has the name.
	ErrNameTaken = errors.New("store: channel name taken")
)

// Community visibilities.
const (
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// roleRank orders roles: a caller may act on members of a lower rank only.
func roleRank(role string) int {
	switch role {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// IsCommunityAdmin reports whether role may administer a community.
func IsCommunityAdmin(role string) bool { return roleRank(role) >= 2 }

const communityColumns = `c.id, c.owner_id, c.name, c.slug, c.description, c.visibility, c.member_count,
	c.created_at, c.updated_at, cm.role, coalesce(cm.muted, false)`

// communityFrom joins the caller's ($1) membership to communities c.
const communityFrom = ` from communities c
	left join community_members cm on cm.community_id = c.id and cm.user_id = $1`

func scanCommunity(row pgx.Row) (ari.Community, error) {
	var c ari.Community
	err := row.Scan(&c.ID, &c.OwnerID, &c.Name, &c.Slug, &c.Description, &c.Visibility, &c.MemberCount,
		&c.CreatedAt, &c.UpdatedAt, &c.MyRole, &c.Muted)
	return c, err
}

func collectCommunities(rows pgx.Rows) ([]ari.Community, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Community, error) { return scanCommunity(r) })
}

// CommunityAccess is where the caller stands in a community.
type CommunityAccess struct {
	CommunityID string
	Visibility  string
	Role        string // "" when not a member
	Banned      bool
}

// communityAccess reads the caller's standing; a private community the caller
// is not in is ErrNotFound. lock takes the community row's lock, so the
// membership changes of one community happen one at a time.
func communityAccess(ctx context.Context, q querier, userID, communityID string, lock bool) (CommunityAccess, error) {
	sql := `select c.id, c.visibility, coalesce(cm.role, ''),
			exists(select 1 from community_bans b where b.community_id = c.id and b.user_id = $1)` + communityFrom + `
		where c.id = $2`
	if lock {
		sql += ` for update of c`
	}
	var a CommunityAccess
	err := q.QueryRow(ctx, sql, userID, communityID).Scan(&a.CommunityID, &a.Visibility, &a.Role, &a.Banned)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && a.Role == "" && a.Visibility != VisibilityPublic) {
		return CommunityAccess{}, ErrNotFound
	}
	return a, err
}

// member is communityAccess for what only members may do: a public
// community's outsider gets ErrBanned or ErrNotMember.
func member(ctx context.Context, q querier, userID, communityID string, lock bool) (CommunityAccess, error) {
	a, err := communityAccess(ctx, q, userID, communityID, lock)
	switch {
	case err != nil:
		return a, err
	case a.Role != "":
		return a, nil
	case a.Banned:
		return a, ErrBanned
	}
	return a, ErrNotMember
}

// admin is member for what owners and admins may do (ErrNotAllowed else).
func admin(ctx context.Context, q querier, userID, communityID string, lock bool) (CommunityAccess, error) {
	a, err := member(ctx, q, userID, communityID, lock)
	if err == nil && !IsCommunityAdmin(a.Role) {
		return a, ErrNotAllowed
	}
	return a, err
}

// CommunityRole returns the caller's standing in a community they may see.
func (db *DB) CommunityRole(ctx context.Context, userID, communityID string) (CommunityAccess, error) {
	return communityAccess(ctx, db.Pool, userID, communityID, false)
}

// NewCommunity is what a community starts with.
type NewCommunity struct {
	Name, Slug, Description, Visibility string
}

// DefaultChannel is the channel every community starts with.
const DefaultChannel = "general"

// CreateCommunity makes a community owned by ownerID, with ownerID its
// first member and one channel, DefaultChannel. A taken slug is ErrSlugTaken.
func (db *DB) CreateCommunity(ctx context.Context, ownerID string, n NewCommunity) (ari.Community, error) {
	var id string
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `insert into communities (owner_id, name, slug, description, visibility)
			values ($1, $2, $3, $4, $5) returning id`, ownerID, n.Name, n.Slug, n.Description, n.Visibility).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into community_members (community_id, user_id, role) values ($1, $2, 'owner')`, id, ownerID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into channels (community_id, name) values ($1, $2)`, id, DefaultChannel)
		return err
	})
	if IsUniqueViolation(err, "communities_slug_key") {
		return ari.Community{}, ErrSlugTaken
	}
	if err != nil {
		return ari.Community{}, err
	}
	return db.Community(ctx, ownerID, id)
}

// Community returns a community the caller may see (a member, or anyone
// for a public one), with the caller's role.
func (db *DB) Community(ctx context.Context, userID, communityID string) (ari.Community, error) {
	if _, err := communityAccess(ctx, db.Pool, userID, communityID, false); err != nil {
		return ari.Community{}, err
	}
	return scanCommunity(db.Pool.QueryRow(ctx, `select `+communityColumns+communityFrom+` where c.id = $2`, userID, communityID))
}

// CommunityChange holds the fields an update sets; nil leaves one as it is.
type CommunityChange struct {
	Name, Slug, Description, Visibility *string
}

// UpdateCommunity changes a community: its owners and admins may change the
// name and description, only owners the slug and visibility.
func (db *DB) UpdateCommunity(ctx context.Context, userID, communityID string, ch CommunityChange) (ari.Community, error) {
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		a, err := admin(ctx, tx, userID, communityID, true)
		if err != nil {
			return err
		}
		if (ch.Slug != nil || ch.Visibility != nil) && a.Role != RoleOwner {
			return ErrNotAllowed
		}
		_, err = tx.Exec(ctx, `update communities set name = coalesce($2, name), slug = coalesce($3, slug),
			description = coalesce($4, description), visibility = coalesce($5, visibility), updated_at = now()
			where id = $1`, communityID, ch.Name, ch.Slug, ch.Description, ch.Visibility)
		return err
	})
	if IsUniqueViolation(err, "communities_slug_key") {
		return ari.Community{}, ErrSlugTaken
	}
	if err != nil {
		return ari.Community{}, err
	}
	return db.Community(ctx, userID, communityID)
}

// DeleteCommunity removes a community with its channels, messages, members,
// invites and bans; only an owner may. It returns the storage keys of the
// attachments removed with the messages (the caller deletes the objects).
func (db *DB) DeleteCommunity(ctx context.Context, userID, communityID string) ([]string, error) {
	var keys []string
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		a, err := member(ctx, tx, userID, communityID, true)
		if err != nil {
			return err
		}
		if a.Role != RoleOwner {
			return ErrNotAllowed
		}
		rows, err := tx.Query(ctx, `delete from attachments where channel_message_id in (
			select m.id from channel_messages m join channels ch on ch.id = m.channel_id where ch.community_id = $1)
			returning storage_key`, communityID)
		if err != nil {
			return err
		}
		if keys, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `delete from communities where id = $1`, communityID)
		return err
	})
	return keys, err
}

// CommunityCursor is a position in a list of communities, newest first.
type CommunityCursor struct {
	Time time.Time `json:"t"`
	ID   string    `json:"i"`
}

// PublicCommunities lists public communities, newest first, those matching
// text (websearch syntax, the last word also as a prefix) when it is not
// empty. The caller's role is filled in where they are a member.
func (db *DB) PublicCommunities(ctx context.Context, userID, text string, after *CommunityCursor, limit int) ([]ari.Community, error) {
	var t *time.Time
	var id string
	if after != nil {
		t, id = &after.Time, after.ID
	}
	rest, last := splitPrefix(text)
	rows, err := db.Pool.Query(ctx, `select `+communityColumns+communityFrom+`
		where c.visibility = 'public'
			and ($2 = '' or c.search @@ (`+tsqueryOf("$2", "$3", "$4")+`))
			and ($5::timestamptz is null or (c.created_at, c.id) < ($5, $6))
		order by c.created_at desc, c.id desc limit $7`, userID, text, last, rest, t, id, limit)
	if err != nil {
		return nil, err
	}
	return collectCommunities(rows)
}

// JoinedCommunities lists the caller's communities, most recently joined first.
func (db *DB) JoinedCommunities(ctx context.Context, userID string, after *CommunityCursor, limit int) ([]ari.Community, []time.Time, error) {
	var t *time.Time
	var id string
	if after != nil {
		t, id = &after.Time, after.ID
	}
	rows, err := db.Pool.Query(ctx, `select `+communityColumns+`, cm.joined_at from community_members cm
		join communities c on c.id = cm.community_id
		where cm.user_id = $1 and ($2::timestamptz is null or (cm.joined_at, c.id) < ($2, $3))
		order by cm.joined_at desc, c.id desc limit $4`, userID, t, id, limit)
	if err != nil {
		return nil, nil, err
	}
	var joined []time.Time
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Community, error) {
		var c ari.Community
		var j time.Time
		err := r.Scan(&c.ID, &c.OwnerID, &c.Name, &c.Slug, &c.Description, &c.Visibility, &c.MemberCount,
			&c.CreatedAt, &c.UpdatedAt, &c.MyRole, &c.Muted, &j)
		joined = append(joined, j)
		return c, err
	})
	return list, joined, err
}

// insertCommunityMember adds userID as a member; a ban (the trigger) is
// ErrBanned, an existing membership ErrAlreadyMember.
func insertCommunityMember(ctx context.Context, tx pgx.Tx, communityID, userID string) error {
	_, err := tx.Exec(ctx, `insert into community_members (community_id, user_id) values ($1, $2)`, communityID, userID)
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.ConstraintName == "community_members_not_banned":
		return ErrBanned
	case IsUniqueViolation(err, ""):
		return ErrAlreadyMember
	}
	return err
}

// JoinCommunity makes the caller a member of a public community. A private
// one is ErrNotFound (it takes an invite), a ban ErrBanned.
func (db *DB) JoinCommunity(ctx context.Context, userID, communityID string) (ari.Community, error) {
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		a, err := communityAccess(ctx, tx, userID, communityID, true)
		switch {
		case err != nil:
			return err
		case a.Role != "":
			return ErrAlreadyMember
		case a.Banned:
			return ErrBanned
		}
		return insertCommunityMember(ctx, tx, communityID, userID)
	})
	if err != nil {
		return ari.Community{}, err
	}
	return db.Community(ctx, userID, communityID)
}

// LeaveCommunity removes the caller; the last owner cannot leave
// (ErrLastOwner) before making someone else an owner.
func (db *DB) LeaveCommunity(ctx context.Context, userID, communityID string) error {
	return db.Tx(ctx, func(tx pgx.Tx) error {
		a, err := member(ctx, tx, userID, communityID, true)
		if err != nil {
			return err
		}
		if a.Role == RoleOwner {
			if err := otherCommunityOwner(ctx, tx, communityID, userID); err != nil {
				return err
			}
		}
		return removeCommunityMember(ctx, tx, communityID, userID)
	})
}

func otherCommunityOwner(ctx context.Context, q querier, communityID, userID string) error {
	var n int
	if err := q.QueryRow(ctx, `select count(*) from community_members
		where community_id = $1 and role = 'owner' and user_id <> $2`, communityID, userID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrLastOwner
	}
	return nil
}

// removeCommunityMember deletes the membership and the read marks and
// mentions that went with it.
func removeCommunityMember(ctx context.Context, tx pgx.Tx, communityID, userID string) error {
	if _, err := tx.Exec(ctx, `delete from community_members where community_id = $1 and user_id = $2`, communityID, userID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `delete from channel_reads r using channels ch
		where ch.id = r.channel_id and ch.community_id = $1 and r.user_id = $2`, communityID, userID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `delete from channel_mentions mn using channels ch
		where ch.id = mn.channel_id and ch.community_id = $1 and mn.user_id = $2`, communityID, userID)
	return err
}

// targetRole returns a member's role (ErrNotFound as "member" when absent).
func targetRole(ctx context.Context, q querier, communityID, userID string) (string, error) {
	var role string
	err := q.QueryRow(ctx, `select role from community_members where community_id = $1 and user_id = $2`,
		communityID, userID).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ari.NotFound("member")
	}
	return role, err
}

// KickMember removes another member: owners and admins may remove members
// of a lower role only (an admin a member, an owner an admin or member).
func (db *DB) KickMember(ctx context.Context, callerID, communityID, targetID string) error {
	return db.Tx(ctx, func(tx pgx.Tx) error {
		a, err := admin(ctx, tx, callerID, communityID, true)
		if err != nil {
			return err
		}
		role, err := targetRole(ctx, tx, communityID, targetID)
		if err != nil {
			return err
		}
		if roleRank(role) >= roleRank(a.Role) {
			return ErrNotAllowed
		}
		return removeCommunityMember(ctx, tx, communityID, targetID)
	})
}

// SetCommunityRole gives a member a role; only owners may (making another
// owner is how an owner hands the community over). The last owner cannot
// step down (ErrLastOwner).
func (db *DB) SetCommunityRole(ctx context.Context, callerID, communityID, targetID, role string) (ari.Member, error) {
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		a, err := member(ctx, tx, callerID, communityID, true)
		if err != nil {
			return err
		}
		if a.Role != RoleOwner {
			return ErrNotAllowed
		}
		if _, err := targetRole(ctx, tx, communityID, targetID); err != nil {
			return err
		}
		if targetID == callerID && role != RoleOwner {
			if err := otherCommunityOwner(ctx, tx, communityID, callerID); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `update community_members set role = $3 where community_id = $1 and user_id = $2`,
			communityID, targetID, role)
		return err
	})
	if err != nil {
		return ari.Member{}, err
	}
	return scanMember(db.Pool.QueryRow(ctx, communityMemberSelect+` and cm.user_id = $2`, communityID, targetID))
}

const communityMemberSelect = `select cm.user_id, 'user', u.name, u.image, cm.role, cm.joined_at
	from community_members cm join "user" u on u.id = cm.user_id
	where cm.community_id = $1`

// MemberCursor is a position in a community's member list (by joining).
type MemberCursor struct {
	Time time.Time `json:"t"`
	ID   string    `json:"i"`
}

// CommunityMembers pages a community's members in the order they joined;
// members only.
func (db *DB) CommunityMembers(ctx context.Context, userID, communityID string, after *MemberCursor, limit int) ([]ari.Member, error) {
	if _, err := member(ctx, db.Pool, userID, communityID, false); err != nil {
		return nil, err
	}
	var t *time.Time
	var id string
	if after != nil {
		t, id = &after.Time, after.ID
	}
	rows, err := db.Pool.Query(ctx, communityMemberSelect+` and ($2::timestamptz is null or (cm.joined_at, cm.user_id) > ($2, $3))
		order by cm.joined_at, cm.user_id limit $4`, communityID, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Member, error) { return scanMember(r) })
}

// BanMember bans a user (a member or not) from the community: the
// membership and read marks go, and the user cannot join again until
// unbanned. The ranks are those of KickMember; banning oneself is
// ErrNotAllowed. A user who is banned already keeps the first ban.
func (db *DB) BanMember(ctx context.Context, callerID, communityID, targetID, reason string) (ari.CommunityBan, error) {
	var b ari.CommunityBan
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		a, err := admin(ctx, tx, callerID, communityID, true)
		if err != nil {
			return err
		}
		if targetID == callerID {
			return ErrNotAllowed
		}
		role, err := targetRole(ctx, tx, communityID, targetID)
		switch {
		case errors.As(err, new(*ari.Error)):
			// Not a member: a known user may be banned before they join.
			var exists bool
			if err := tx.QueryRow(ctx, `select exists(select 1 from "user" where id = $1)`, targetID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return ari.NotFound("user")
			}
		case err != nil:
			return err
		case roleRank(role) >= roleRank(a.Role):
			return ErrNotAllowed
		default:
			if err := removeCommunityMember(ctx, tx, communityID, targetID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `insert into community_bans (community_id, user_id, banned_by, reason)
			values ($1, $2, $3, $4) on conflict do nothing`, communityID, targetID, callerID, reason); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `select community_id, user_id, banned_by, reason, created_at from community_bans
			where community_id = $1 and user_id = $2`, communityID, targetID).
			Scan(&b.CommunityID, &b.UserID, &b.BannedBy, &b.Reason, &b.CreatedAt)
	})
	return b, err
}

// UnbanMember lifts a ban (owners and admins); an absent ban is ErrNotFound
// as "ban".
func (db *DB) UnbanMember(ctx context.Context, callerID, communityID, targetID string) error {
	return db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := admin(ctx, tx, callerID, communityID, true); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `delete from community_bans where community_id = $1 and user_id = $2`, communityID, targetID)
		if err == nil && tag.RowsAffected() == 0 {
			return ari.NotFound("ban")
		}
		return err
	})
}

// Bans pages a community's bans, newest first (owners and admins).
func (db *DB) Bans(ctx context.Context, callerID, communityID string, after *MemberCursor, limit int) ([]ari.CommunityBan, error) {
	if _, err := admin(ctx, db.Pool, callerID, communityID, false); err != nil {
		return nil, err
	}
	var t *time.Time
	var id string
	if after != nil {
		t, id = &after.Time, after.ID
	}
	rows, err := db.Pool.Query(ctx, `select community_id, user_id, banned_by, reason, created_at from community_bans
		where community_id = $1 and ($2::timestamptz is null or (created_at, user_id) < ($2, $3))
		order by created_at desc, user_id desc limit $4`, communityID, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.CommunityBan, error) {
		var b ari.CommunityBan
		err := r.Scan(&b.CommunityID, &b.UserID, &b.BannedBy, &b.Reason, &b.CreatedAt)
		return b, err
	})
}
