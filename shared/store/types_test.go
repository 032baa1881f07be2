package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/jackc/pgx/v5"
)

// rowTypes maps every table to its Go type in shared/ari.
var rowTypes = map[string]any{
	"user": ari.User{}, "session": ari.Session{}, "account": ari.Account{}, "verification": ari.Verification{},
	"agents": ari.Agent{}, "conversations": ari.Conversation{}, "conversation_members": ari.ConversationMember{},
	"messages": ari.Message{}, "conversation_reads": ari.ConversationRead{}, "message_reactions": ari.MessageReaction{},
	"attachments": ari.Attachment{}, "push_subscriptions": ari.PushSubscription{},
	"notification_preferences": ari.NotificationPreferences{}, "communities": ari.Community{}, "channels": ari.Channel{},
	"community_members": ari.CommunityMember{}, "channel_messages": ari.ChannelMessage{},
	"developer_accounts": ari.DeveloperAccount{}, "apps": ari.App{}, "app_versions": ari.AppVersion{},
	"coin_balances": ari.CoinBalance{}, "coin_transactions": ari.CoinTransaction{}, "app_purchases": ari.AppPurchase{},
	"community_bans": ari.CommunityBan{}, "community_invites": ari.CommunityInvite{}, "community_agents": ari.CommunityAgent{},
	"channel_agents": ari.ChannelAgent{}, "channel_reads": ari.ChannelRead{}, "channel_message_reactions": ari.ChannelMessageReaction{},
	"channel_mentions": ari.ChannelMention{}, "input_requests": ari.InputRequest{}, "a2a_abandoned_tasks": ari.A2AAbandonedTask{},
	"app_sessions":    ari.AppSession{},
	"app_tool_calls":  ari.AppToolCall{},
	"app_events":      ari.AppEvent{},
	"channel_replies": ari.ChannelReply{},
}

// Columns that deliberately have no field: secrets, derived search vectors,
// and storage details kept out of the domain type (per-user settings are
// read for their user, so the key and bookkeeping stay in the store; which
// relay deployment runs a reply is the relay's bookkeeping).
var noField = map[string]bool{
	"agents.token_hash": true, "messages.search": true, "communities.search": true, "channel_messages.search": true, "messages.relay_deployment": true,
	"channel_replies.relay_deployment": true, "channel_replies.queue_seq": true,
	"notification_preferences.user_id": true, "notification_preferences.updated_at": true,
}

// Columns whose field has another name.
var renamed = map[string]string{"attachments.original_name": "Name"}

// TestEveryTableHasAGoType fails when a table (or a column) is added without
// its Go type in shared/ari.
func TestEveryTableHasAGoType(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	rows, err := db.Pool.Query(ctx, `select table_name, column_name from information_schema.columns
		where table_schema = 'public' and table_name <> 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ Table, Column string }
	cols, err := pgx.CollectRows(rows, pgx.RowToStructByPos[col])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		v, ok := rowTypes[c.Table]
		if !ok {
			t.Errorf("table %s has no Go type in shared/ari (add it to rowTypes)", c.Table)
			continue
		}
		key := c.Table + "." + c.Column
		if noField[key] || hasField(reflect.TypeOf(v), c.Column) || hasField(reflect.TypeOf(v), renamed[key]) {
			continue
		}
		t.Errorf("%s.%s has no field in %T", c.Table, c.Column, v)
	}
}

// hasField matches a column (snake_case or camelCase) to a field by name,
// ignoring case and underscores.
func hasField(typ reflect.Type, column string) bool {
	if column == "" {
		return false
	}
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	want := norm(column)
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if norm(f.Name) == want {
			return true
		}
		if tag := strings.Split(f.Tag.Get("json"), ",")[0]; tag != "" && tag != "-" && norm(tag) == want {
			return true
		}
	}
	return false
}
