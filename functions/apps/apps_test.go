package apps

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

func setup(t *testing.T) *apitest.Env {
	t.Helper()
	e := apitest.New(t)
	return e.Serve(t, New(Deps{DB: e.DB, Events: e.Events, Auth: e.Auth}))
}

type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

const manifest = `{"entryUrl":"https://knight.example/chess/","actions":[{"name":"move","description":"Move.",
	"parameters":{"type":"object","properties":{"from":{"type":"string"}},"required":["from"]}}],"events":[{"name":"board_changed"}]}`

func slug() string { return "app-" + strings.ToLower(testenv.RandomID(8)) }

// TestAppsAuthorization: every route as the developer, a buyer, an
// outsider and signed out.
func TestAppsAuthorization(t *testing.T) {
	e := setup(t)
	dev := testenv.NewUser(t, e.DB, "dev")
	buyer := testenv.NewUser(t, e.DB, "buyer")
	outsider := testenv.NewUser(t, e.DB, "outsider")

	// Signed out: the schema only.
	if st, b := e.Call(t, "", "GET", "/api/apps/manifest.schema.json", nil); st != 200 || !json.Valid(b) {
		t.Fatalf("schema: %d", st)
	}
	for _, r := range [][2]string{{"GET", "/api/apps"}, {"GET", "/api/apps/installed"}, {"GET", "/api/apps/x"}, {"POST", "/api/apps/x/install"},
		{"POST", "/api/developer"}, {"GET", "/api/developer"}, {"GET", "/api/developer/apps"}, {"POST", "/api/developer/apps"},
		{"GET", "/api/developer/apps/x"}, {"PUT", "/api/developer/apps/x"}, {"POST", "/api/developer/apps/x/publish"},
		{"POST", "/api/developer/apps/x/unpublish"}, {"GET", "/api/developer/apps/x/versions"}, {"POST", "/api/developer/apps/x/versions"}} {
		e.Must(t, 401, "", r[0], r[1], map[string]any{})
	}

	// No developer account: 404 for the account, 403 to create an app.
	e.Must(t, 404, dev.Token, "GET", "/api/developer", nil)
	e.Must(t, 403, dev.Token, "POST", "/api/developer/apps", map[string]any{"slug": slug(), "name": "X"})
	e.Must(t, 201, dev.Token, "POST", "/api/developer", map[string]any{"displayName": "Knight Games", "website": "https://knight.example"})
	e.Must(t, 409, dev.Token, "POST", "/api/developer", map[string]any{"displayName": "Again"})
	app := apitest.Decode[store.DeveloperApp](t, e.Must(t, 201, dev.Token, "POST", "/api/developer/apps",
		map[string]any{"slug": slug(), "name": "Chess", "priceCoins": 10, "iconUrl": "https://knight.example/i.png"}))
	if app.Status != "draft" || app.Visibility != "public" || app.PriceCoins != 10 || app.IconURL == nil {
		t.Fatalf("created %+v", app)
	}
	id := app.ID
	e.Must(t, 409, dev.Token, "POST", "/api/developer/apps", map[string]any{"slug": app.Slug, "name": "Copy"})

	// A draft: only its developer sees it; it cannot be listed or installed.
	e.Must(t, 404, outsider.Token, "GET", "/api/apps/"+id, nil)
	e.Must(t, 404, buyer.Token, "POST", "/api/apps/"+id+"/install", map[string]any{"idempotencyKey": "k1"})
	e.Must(t, 409, dev.Token, "POST", "/api/developer/apps/"+id+"/publish", nil)
	e.Must(t, 200, dev.Token, "GET", "/api/apps/"+id, nil)

	// Only the developer manages it; others get 404 on every developer route.
	for _, u := range []testenv.TestUser{buyer, outsider} {
		e.Must(t, 404, u.Token, "GET", "/api/developer/apps/"+id, nil)
		e.Must(t, 404, u.Token, "PUT", "/api/developer/apps/"+id, map[string]any{"name": "Mine now"})
		e.Must(t, 404, u.Token, "POST", "/api/developer/apps/"+id+"/publish", nil)
		e.Must(t, 404, u.Token, "POST", "/api/developer/apps/"+id+"/unpublish", nil)
		e.Must(t, 404, u.Token, "GET", "/api/developer/apps/"+id+"/versions", nil)
		e.Must(t, 404, u.Token, "POST", "/api/developer/apps/"+id+"/versions", map[string]any{"version": "1", "manifest": json.RawMessage(manifest)})
	}
	v := apitest.Decode[map[string]any](t, e.Must(t, 201, dev.Token, "POST", "/api/developer/apps/"+id+"/versions",
		map[string]any{"version": "1.0.0", "manifest": json.RawMessage(manifest)}))
	if v["version"] != "1.0.0" || v["publishedAt"] == nil {
		t.Fatalf("version %v", v)
	}
	e.Must(t, 409, dev.Token, "POST", "/api/developer/apps/"+id+"/versions", map[string]any{"version": "1.0.0", "manifest": json.RawMessage(manifest)})

	// Published: everyone signed in sees it with its latest version.
	d := apitest.Decode[store.AppDetail](t, e.Must(t, 200, outsider.Token, "GET", "/api/apps/"+id, nil))
	if d.Version == nil || d.Version.Version != "1.0.0" || d.Installed || d.DeveloperName == nil || *d.DeveloperName != "Knight Games" {
		t.Fatalf("detail %+v", d)
	}
	if _, err := appbridge.ParseManifest(d.Version.Manifest); err != nil {
		t.Fatalf("stored manifest: %v", err)
	}

	// The buyer pays; the developer earns.
	e.Must(t, 402, buyer.Token, "POST", "/api/apps/"+id+"/install", map[string]any{"idempotencyKey": "k1"})
	if _, _, err := e.DB.GrantCoins(t.Context(), buyer.ID, 25, "g"); err != nil {
		t.Fatal(err)
	}
	in := apitest.Decode[InstallResponse](t, e.Must(t, 201, buyer.Token, "POST", "/api/apps/"+id+"/install", map[string]any{"idempotencyKey": "k1"}))
	if in.BalanceCoins != 15 || in.Install.PriceCoins != 10 || in.Install.TransactionID == nil {
		t.Fatalf("install %+v", in)
	}
	again := apitest.Decode[InstallResponse](t, e.Must(t, 200, buyer.Token, "POST", "/api/apps/"+id+"/install", map[string]any{"idempotencyKey": "k1"}))
	if again.Install.ID != in.Install.ID || again.BalanceCoins != 15 {
		t.Fatalf("replay %+v", again)
	}
	e.Must(t, 409, buyer.Token, "POST", "/api/apps/"+id+"/install", map[string]any{"idempotencyKey": "k2"})
	inst := apitest.Decode[page[store.Install]](t, e.Must(t, 200, buyer.Token, "GET", "/api/apps/installed", nil))
	if len(inst.Items) != 1 || inst.Items[0].App.ID != id {
		t.Fatalf("installed %+v", inst)
	}
	if n := len(apitest.Decode[page[store.Install]](t, e.Must(t, 200, outsider.Token, "GET", "/api/apps/installed", nil)).Items); n != 0 {
		t.Fatalf("outsider sees %d installs", n)
	}
	da := apitest.Decode[store.DeveloperApp](t, e.Must(t, 200, dev.Token, "GET", "/api/developer/apps/"+id, nil))
	if da.Installs != 1 || da.EarningsCoins != 10 || da.Status != "published" || da.LatestVersion == nil {
		t.Fatalf("developer's view %+v", da)
	}
	acct := apitest.Decode[store.Developer](t, e.Must(t, 200, dev.Token, "GET", "/api/developer", nil))
	if acct.Apps != 1 || acct.Installs != 1 || acct.EarningsCoins != 10 {
		t.Fatalf("account %+v", acct)
	}

	// Unlisted: out of the catalogue, still reachable and installable by id.
	e.Must(t, 200, dev.Token, "PUT", "/api/developer/apps/"+id, map[string]any{"visibility": "unlisted"})
	if cat := apitest.Decode[page[store.CatalogueApp]](t, e.Must(t, 200, outsider.Token, "GET", "/api/apps?q="+app.Slug, nil)); len(cat.Items) != 0 {
		t.Fatalf("unlisted app in the catalogue: %+v", cat.Items)
	}
	e.Must(t, 200, outsider.Token, "GET", "/api/apps/"+id, nil)
	// Unpublished: gone for outsiders; the buyer keeps it.
	e.Must(t, 200, dev.Token, "POST", "/api/developer/apps/"+id+"/unpublish", nil)
	e.Must(t, 404, outsider.Token, "GET", "/api/apps/"+id, nil)
	e.Must(t, 404, outsider.Token, "POST", "/api/apps/"+id+"/install", map[string]any{"idempotencyKey": "k1"})
	if d := apitest.Decode[store.AppDetail](t, e.Must(t, 200, buyer.Token, "GET", "/api/apps/"+id, nil)); !d.Installed {
		t.Fatal("the buyer lost the app")
	}
	e.Must(t, 200, dev.Token, "POST", "/api/developer/apps/"+id+"/publish", nil)
	e.Must(t, 200, outsider.Token, "GET", "/api/apps/"+id, nil)
}

func TestAppsValidation(t *testing.T) {
	e := setup(t)
	dev := testenv.NewUser(t, e.DB, "dev")
	e.Must(t, 201, dev.Token, "POST", "/api/developer", map[string]any{"displayName": "Dev"})
	bad := func(method, path string, body any, field string) {
		t.Helper()
		st, b := e.Call(t, dev.Token, method, path, body)
		eb := apitest.Decode[apitest.ErrorBody](t, b)
		if st != 400 || eb.Error.Fields[field] == "" {
			t.Fatalf("%s %s %v: %d %s, want 400 naming %s", method, path, body, st, b, field)
		}
	}
	bad("POST", "/api/developer/apps", map[string]any{"slug": "Bad_Slug", "name": "X"}, "slug")
	bad("POST", "/api/developer/apps", map[string]any{"slug": slug(), "name": ""}, "name")
	bad("POST", "/api/developer/apps", map[string]any{"slug": slug(), "name": "X", "priceCoins": -1}, "priceCoins")
	bad("POST", "/api/developer/apps", map[string]any{"slug": slug(), "name": "X", "iconUrl": "javascript:x"}, "iconUrl")
	bad("POST", "/api/developer/apps", map[string]any{"slug": slug(), "name": "X", "visibility": "secret"}, "visibility")
	bad("POST", "/api/developer/apps", map[string]any{"slug": slug(), "name": "X\x07"}, "name")
	a := apitest.Decode[store.DeveloperApp](t, e.Must(t, 201, dev.Token, "POST", "/api/developer/apps", map[string]any{"slug": slug(), "name": "X"}))
	bad("PUT", "/api/developer/apps/"+a.ID, map[string]any{}, "name")
	bad("POST", "/api/developer/apps/"+a.ID+"/versions", map[string]any{"version": "../1", "manifest": json.RawMessage(manifest)}, "version")
	bad("POST", "/api/developer/apps/"+a.ID+"/versions", map[string]any{"version": "1"}, "manifest")
	bad("POST", "/api/apps/"+a.ID+"/install", map[string]any{"idempotencyKey": "has space"}, "idempotencyKey")
	bad("GET", "/api/apps?q="+strings.Repeat("x", 101), nil, "q")
	bad("GET", "/api/apps?cursor=nope", nil, "cursor")

	// Hostile manifests: 400 invalid_manifest naming the problem, never 500.
	deep := strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200)
	for name, m := range map[string]string{
		"missing entryUrl": `{"actions":[]}`,
		"deep":             `{"entryUrl":"https://a.example/","x":` + deep + `}`,
		"bad regex":        `{"entryUrl":"https://a.example/","actions":[{"name":"go","description":"Go.","parameters":{"type":"object","properties":{"a":{"type":"string","pattern":"(?<=x)"}}}}]}`,
		"ref cycle":        `{"entryUrl":"https://a.example/","actions":[{"name":"go","description":"Go.","parameters":{"type":"object","$ref":"#/$defs/a","$defs":{"a":{"$ref":"#"}}}}]}`,
		"huge":             `{"entryUrl":"https://a.example/","actions":[{"name":"go","description":"Go.","parameters":{"type":"object","enum":[` + strings.Repeat(`"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",`, 2000) + `1]}}]}`,
		"duplicate keys":   `{"entryUrl":"https://a.example/","entryUrl":"https://b.example/"}`,
		"not an object":    `[1,2]`,
	} {
		st, b := e.Call(t, dev.Token, "POST", "/api/developer/apps/"+a.ID+"/versions", `{"version":"1","manifest":`+m+`}`)
		eb := apitest.Decode[apitest.ErrorBody](t, b)
		if st != 400 || eb.Error.Code != "invalid_manifest" || len(eb.Error.Fields) == 0 {
			t.Fatalf("%s: %d %.300s", name, st, b)
		}
	}
	// Past the manifest limit the body itself is refused.
	e.Must(t, 413, dev.Token, "POST", "/api/developer/apps/"+a.ID+"/versions",
		`{"version":"1","manifest":{"entryUrl":"https://a.example/","x":"`+strings.Repeat("x", appbridge.MaxManifestBytes+8192)+`"}}`)
	if n := len(apitest.Decode[page[map[string]any]](t, e.Must(t, 200, dev.Token, "GET", "/api/developer/apps/"+a.ID+"/versions", nil)).Items); n != 0 {
		t.Fatalf("refused manifests stored %d versions", n)
	}
}

// TestCatalogue: search, pagination, and only published public apps.
func TestCatalogue(t *testing.T) {
	e := setup(t)
	dev := testenv.NewUser(t, e.DB, "dev")
	reader := testenv.NewUser(t, e.DB, "reader")
	e.Must(t, 201, dev.Token, "POST", "/api/developer", map[string]any{"displayName": "Dev"})
	tag := strings.ToLower(testenv.RandomID(6))
	var want []string
	for i := range 7 {
		a := apitest.Decode[store.DeveloperApp](t, e.Must(t, 201, dev.Token, "POST", "/api/developer/apps",
			map[string]any{"slug": slug(), "name": fmt.Sprintf("Game %d", i), "description": "a " + tag + " game with 100%_ fun"}))
		if i == 6 {
			continue // a draft stays out
		}
		e.Must(t, 201, dev.Token, "POST", "/api/developer/apps/"+a.ID+"/versions", map[string]any{"version": "1", "manifest": json.RawMessage(manifest)})
		want = append([]string{a.ID}, want...)
	}
	var got []string
	cursor := ""
	for {
		path := "/api/apps?limit=4&q=" + tag
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		p := apitest.Decode[page[store.CatalogueApp]](t, e.Must(t, http.StatusOK, reader.Token, "GET", path, nil))
		for _, a := range p.Items {
			got = append(got, a.ID)
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("catalogue %v, want %v", got, want)
	}
	// LIKE's wildcards are literal text.
	if p := apitest.Decode[page[store.CatalogueApp]](t, e.Must(t, 200, reader.Token, "GET", "/api/apps?q=100%25_", nil)); len(p.Items) < 6 {
		t.Fatalf("literal search found %d", len(p.Items))
	}
	if p := apitest.Decode[page[store.CatalogueApp]](t, e.Must(t, 200, reader.Token, "GET", "/api/apps?q=%25%25"+tag+"-none", nil)); len(p.Items) != 0 {
		t.Fatalf("wildcard search found %d", len(p.Items))
	}
}
