package groups

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
	"github.com/redis/go-redis/v9"
)

type fixture struct {
	db   *store.DB
	rdb  *redis.Client
	keys kv.Keys
	api  *apitest.Server
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return serve(t, nil)
}

// serve runs the groups function on a fresh database and Redis prefix; more,
// when given, adds to its dependencies (limits, for instance).
func serve(t *testing.T, more func(d *Deps, rdb *redis.Client, keys kv.Keys)) *fixture {
	t.Helper()
	db := testenv.DB(t)
	rdb, keys := testenv.Redis(t)
	d := Deps{
		DB:     db,
		Events: events.NewPublisher(rdb, keys),
		Auth:   &auth.Authenticator{DB: db, Secret: config.DevSecret, Cookies: auth.NewCookies("http://localhost:3501")},
	}
	if more != nil {
		more(&d, rdb, keys)
	}
	return &fixture{db: db, rdb: rdb, keys: keys, api: apitest.Serve(t, New(d))}
}

// call sends a request as the user with token (none when empty).
func (f *fixture) call(t *testing.T, token, method, path string, body any) (int, []byte) {
	t.Helper()
	return f.api.Call(t, token, method, path, body)
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	return apitest.Decode[T](t, raw)
}

type errorBody = apitest.ErrorBody

// conversation makes a conversation with the users as members, the first
// one its owner.
func conversation(t *testing.T, db *store.DB, kind string, users ...string) string {
	t.Helper()
	return apitest.Conversation(t, db, kind, users...)
}

// listen subscribes to a user's channel the way a relay does.
func (f *fixture) listen(t *testing.T, userID string) func() events.Event {
	t.Helper()
	return apitest.Listen(t, f.rdb, f.keys, userID)
}

// agent makes an agent owned by owner with the given visibility.
func agent(t *testing.T, db *store.DB, owner, name, visibility string) string {
	t.Helper()
	return apitest.Agent(t, db, owner, name, visibility)
}
