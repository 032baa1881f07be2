package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/functions/docs"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// The route walker: every operation of the OpenAPI document, each hostile
// value of the table in each of its path parameters, query parameters and
// body fields (JSON, form-encoded, multipart, as the document says), sent as
// a signed-up user through the shim over real HTTP. A refused value answers
// 4xx in the route's error shape and stores nothing. A route added to
// openapi.json is walked without anyone listing it here.

// hostile is one value of the table. text is how it goes into a path, query,
// form or multipart field; json is its raw JSON token ("" when it has no JSON
// form, or no other form). mustRefuse says the value is never acceptable;
// the others (control characters, long strings, wrong types the schema
// allows) may be accepted but never answer 5xx.
type hostile struct {
	name       string
	text, json string
	mustRefuse bool
}

var longText = strings.Repeat("a", 70_000)

// longWord is one word a little under a text-search lexeme's limit of 2,046
// bytes, in 680 three-byte characters so that it fits a search query's
// 1,000 characters: a search key that lengthened it made message writes and
// searches fail (migration 00034).
var longWord = strings.Repeat("一", 680)

var hostileTable = []hostile{
	{"U+0000", "a\x00b", `"a\u0000b"`, true},
	{"raw NUL byte", "", "\"a\x00b\"", true},
	{"bytes ff fe", "\xff\xfe", "\"\xff\xfe\"", true},
	{"truncated UTF-8", "ok\xc3", "\"ok\xc3\"", true},
	{"bytes c3 28", "\xc3\x28", "\"\xc3\x28\"", true},
	{"lone high surrogate", "\xed\xa0\x80", `"\ud800"`, true},
	{"lone low surrogate", "", `"x\udc00y"`, true},
	{"control characters", "\x01\x1b[2J\x7f", `"\u0001\u001b[2J\u007f"`, false},
	{"long string", longText, `"` + longText + `"`, false}, // refused where the schema bounds it
	{"one word near the lexeme limit", longWord, `"` + longWord + `"`, false},
}

// wrongTypes go into JSON fields whose schema does not allow their type.
var wrongTypes = []struct{ kind, json string }{
	{"number", "12345"}, {"boolean", "true"}, {"object", `{"a":1}`}, {"array", `["a"]`}, {"string", `"s"`}, {"null", "null"},
}

type walkSchema = map[string]any

type walkOp struct {
	method, path string
	op           map[string]any
}

type walker struct {
	t     *testing.T
	srv   *httptest.Server
	h     http.Handler
	db    *store.DB
	doc   map[string]any
	token string
	// ids of the caller's own resources, by the path segment before {id}.
	ids map[string]string
	// known body fields whose baseline is a real id.
	fields map[string]any
	counts []string // tables whose row counts are compared
	sent   int
}

// TestWalkerRefusesHostileInputOnEveryRoute is the walk.
func TestWalkerRefusesHostileInputOnEveryRoute(t *testing.T) {
	w := newWalker(t)
	ops := w.operations()
	if len(ops) < 50 {
		t.Fatalf("only %d operations in openapi.json", len(ops))
	}
	for _, o := range ops {
		w.walkPath(o)
		w.walkQuery(o)
		w.walkBody(o)
		w.walkBearer(o)
	}
	t.Logf("walked %d operations with %d hostile requests", len(ops), w.sent)
}

func newWalker(t *testing.T) *walker {
	cfg := testenv.Config(t)
	cfg.LogLevel = "error" // the walk sends thousands of requests
	cfg.RateLimitAuth, cfg.RateLimitAPI = 1_000_000, 1_000_000
	cfg.RateLimitGroups, cfg.RateLimitGroupMembers = 1_000_000, 1_000_000
	var err error
	if cfg.VAPIDPublicKey, cfg.VAPIDPrivateKey, err = notify.GenerateVAPIDKeys(); err != nil {
		t.Fatal(err) // push routes answer 503 without keys, whatever they are sent
	}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL
	p, err := platform.FromConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if handler, err = shim(p); err != nil {
		t.Fatal(err)
	}
	w := &walker{t: t, srv: srv, h: handler, db: p.DB}
	if err := json.Unmarshal(docs.OpenAPI, &w.doc); err != nil {
		t.Fatal(err)
	}
	w.token, _ = w.signUp("walker")
	_, otherID := w.signUp("walker-other")
	agent := w.create("POST", "/api/agents", `{"name":"Walker agent","visibility":"public"}`, "agent.id")
	conv := w.create("POST", "/api/conversations", `{"agentId":"`+agent+`"}`, "id")
	group := w.create("POST", "/api/groups", `{"title":"Walkers","userIds":["`+otherID+`"],"agentIds":["`+agent+`"]}`, "id")
	community := w.create("POST", "/api/communities", `{"name":"Walkers","slug":"walkers-home"}`, "id")
	var channel string
	if err := p.DB.Pool.QueryRow(t.Context(), `select id from channels where community_id = $1`, community).Scan(&channel); err != nil {
		t.Fatal(err)
	}
	channelMessage := w.create("POST", "/api/channels/"+channel+"/messages", `{"clientMessageId":"walker-c1","content":"hello"}`, "id")
	upload := w.create("POST", "/api/uploads/presign", `{"name":"a.txt","contentType":"text/plain","size":3}`, "attachmentId")
	var me struct{ ID string }
	if err := p.DB.Pool.QueryRow(t.Context(), `select "userId" from session where token = $1`, w.token).Scan(&me.ID); err != nil {
		t.Fatal(err)
	}
	sent, err := p.DB.InsertUserMessage(t.Context(), store.NewUserMessage{UserID: me.ID, ConversationID: group, Content: "hello", ClientMessageID: "walker-1"})
	if err != nil {
		t.Fatal(err)
	}
	w.create("POST", "/api/developer", `{"displayName":"Walker dev"}`, "id")
	app := w.create("POST", "/api/developer/apps", `{"slug":"walker-app","name":"Walker app"}`, "id")
	w.create("POST", "/api/developer/apps/"+app+"/versions", `{"version":"1.0.0","manifest":{"entryUrl":"https://walker.example/"}}`, "id")
	w.create("POST", "/api/apps/"+app+"/install", `{"idempotencyKey":"walker-install"}`, "install.id")
	session := w.create("POST", "/api/conversations/"+conv+"/app-sessions", `{"appId":"`+app+`","mode":"user_only"}`, "id")
	w.ids = map[string]string{"agents": agent, "conversations": conv, "groups": group, "messages": sent.Message.ID, "uploads": upload, "members": otherID,
		"communities": community, "channels": channel, "messageId": channelMessage, "apps": app, "app-sessions": session}
	w.fields = map[string]any{"agentId": agent, "userId": otherID, "conversationId": conv, "userIds": []any{otherID}, "agentIds": []any{agent}, "emoji": "👍", "appId": app}
	rows, err := p.DB.Pool.Query(t.Context(), `select table_name from information_schema.tables
		where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		w.counts = append(w.counts, name)
	}
	if len(w.counts) < 10 {
		t.Fatalf("only %d tables to count: %v", len(w.counts), w.counts)
	}
	return w
}

// signUp makes an account through the API and returns its bearer token and id.
func (w *walker) signUp(name string) (token, id string) {
	w.t.Helper()
	body := fmt.Sprintf(`{"name":%q,"email":"%s-%s@example.com","password":"correct horse battery"}`, name, name, testenv.RandomID(4))
	st, b := w.do(httptest.NewRequest("POST", "/api/auth/sign-up/email", strings.NewReader(body)), "application/json", "")
	var out struct {
		Token string
		User  struct{ ID string }
	}
	if st != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Token == "" {
		w.t.Fatalf("sign-up: %d %s", st, b)
	}
	return out.Token, out.User.ID
}

func (w *walker) create(method, path, body, idField string) string {
	w.t.Helper()
	st, b := w.do(httptest.NewRequest(method, path, strings.NewReader(body)), "application/json", w.token)
	var out any
	_ = json.Unmarshal(b, &out)
	for _, k := range strings.Split(idField, ".") {
		m, _ := out.(map[string]any)
		out = m[k]
	}
	id, _ := out.(string)
	if st/100 != 2 || id == "" {
		w.t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
	return id
}

// do sends r (its URL relative) to the shim over HTTP.
func (w *walker) do(r *http.Request, contentType, token string) (int, []byte) {
	w.t.Helper()
	req, err := http.NewRequest(r.Method, w.srv.URL+r.URL.RequestURI(), r.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (w *walker) operations() []walkOp {
	var ops []walkOp
	for path, methods := range w.doc["paths"].(map[string]any) {
		for m, op := range methods.(map[string]any) {
			if op, ok := op.(map[string]any); ok {
				ops = append(ops, walkOp{strings.ToUpper(m), path, op})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	return ops
}

type walkParam struct {
	name, in string
	required bool
	schema   walkSchema
}

func (w *walker) params(o walkOp) []walkParam {
	var out []walkParam
	list, _ := o.op["parameters"].([]any)
	for _, p := range list {
		p := w.resolve(p.(map[string]any))
		s, _ := p["schema"].(map[string]any)
		req, _ := p["required"].(bool)
		out = append(out, walkParam{name: p["name"].(string), in: p["in"].(string), required: req, schema: w.resolve(s)})
	}
	return out
}

// resolve follows a local $ref.
func (w *walker) resolve(s walkSchema) walkSchema {
	for s != nil {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		var cur any = w.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		s = cur.(map[string]any)
	}
	return s
}

// url builds the operation's URL with path values (hostile for one name)
// and its required query parameters (plus a hostile one).
func (w *walker) url(o walkOp, hostileParam, hostileValue string) string {
	segs := strings.Split(o.path, "/")
	for i, seg := range segs {
		if !strings.HasPrefix(seg, "{") {
			continue
		}
		name := strings.Trim(seg, "{}")
		v := w.pathBaseline(o.path, segs[i-1], name)
		if name == hostileParam {
			segs[i] = url.PathEscape(hostileValue)
			continue
		}
		segs[i] = url.PathEscape(v)
	}
	q := url.Values{}
	for _, p := range w.params(o) {
		if p.in != "query" {
			continue
		}
		if p.name == hostileParam {
			q.Set(p.name, hostileValue)
		} else if p.required {
			q.Set(p.name, fmt.Sprint(w.sample(p.name, p.schema)))
		}
	}
	u := strings.Join(segs, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (w *walker) pathBaseline(path, before, name string) string {
	switch {
	case name == "memberId":
		return w.ids["members"]
	case name == "id":
		if id, ok := w.ids[before]; ok {
			return id
		}
		return "x1"
	case name == "provider":
		return "github"
	case name == "emoji":
		return "👍"
	case w.ids[name] != "":
		return w.ids[name]
	default:
		return "x1"
	}
}

func (w *walker) walkPath(o walkOp) {
	for _, p := range w.params(o) {
		if p.in != "path" {
			continue
		}
		for _, hv := range hostileTable {
			if hv.text == "" {
				continue
			}
			// Every value in an id is refused (404); other path values by the table.
			refuse := hv.mustRefuse || isIDName(p.name) || (hv.text == longText && maxLen(p.schema) > 0)
			w.check(o, "path "+p.name, hv.name, refuse, func() (*http.Request, string) {
				return httptest.NewRequest(o.method, w.url(o, p.name, hv.text), nil), ""
			}, w.validBody(o))
		}
	}
}

func (w *walker) walkQuery(o walkOp) {
	for _, p := range w.params(o) {
		if p.in != "query" {
			continue
		}
		for _, hv := range hostileTable {
			if hv.text == "" {
				continue
			}
			refuse := hv.mustRefuse || (hv.text == longText && maxLen(p.schema) > 0)
			w.check(o, "query "+p.name, hv.name, refuse, func() (*http.Request, string) {
				return httptest.NewRequest(o.method, w.url(o, p.name, hv.text), nil), ""
			}, w.validBody(o))
		}
		if typeAllows(p.schema, "integer") || typeAllows(p.schema, "number") {
			w.check(o, "query "+p.name, "not a number", true, func() (*http.Request, string) {
				return httptest.NewRequest(o.method, w.url(o, p.name, "x"), nil), ""
			}, w.validBody(o))
		}
	}
}

// hostileBearers are Authorization values that are no token: not printable
// ASCII. Go's HTTP server refuses a NUL in a header itself (400), so those go
// to the shim's handler directly, as a Lambda event would bring them.
var hostileBearers = []string{"Bearer \xc3\x28", "Bearer \x00", "Bearer ok\x00", "Bearer \xff\xfe", "Bearer tok\x7f"}

// walkBearer sends the operation with a hostile bearer: 401 where the
// document asks for a session, never 5xx where it does not.
func (w *walker) walkBearer(o walkOp) {
	secured := true
	if sec, ok := o.op["security"].([]any); ok && len(sec) == 0 {
		secured = false
	}
	for _, bearer := range hostileBearers {
		r := httptest.NewRequest(o.method, w.url(o, "", ""), nil)
		if rd, ct := w.validBody(o)(); rd != nil {
			r.Body = io.NopCloser(rd)
			r.Header.Set("Content-Type", ct)
		}
		r.Header.Set("Authorization", bearer)
		before := w.rowCounts()
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, r)
		w.sent++
		label := fmt.Sprintf("%s %s, Authorization %q", o.method, o.path, bearer)
		switch {
		case rec.Code >= 500 && !(rec.Code == http.StatusNotImplemented && documentsOnly(o, "501")):
			w.t.Errorf("%s: status %d %s", label, rec.Code, trim(rec.Body.Bytes()))
		case secured && rec.Code != http.StatusUnauthorized:
			w.t.Errorf("%s: status %d, want 401: %s", label, rec.Code, trim(rec.Body.Bytes()))
		case rec.Code >= 400:
			if err := errorShape(o.path, rec.Code, rec.Body.Bytes()); err != nil {
				w.t.Errorf("%s: status %d, %v: %s", label, rec.Code, err, trim(rec.Body.Bytes()))
			}
			if after := w.rowCounts(); after != before {
				w.t.Errorf("%s: refused with %d but rows changed:\nbefore %s\nafter  %s", label, rec.Code, before, after)
			}
		}
	}
}

func isIDName(name string) bool { return name == "id" || strings.HasSuffix(name, "Id") }

// requestBody returns the operation's body media type and schema, or "".
func (w *walker) requestBody(o walkOp) (string, walkSchema) {
	rb, _ := o.op["requestBody"].(map[string]any)
	content, _ := rb["content"].(map[string]any)
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data"} {
		if c, ok := content[ct].(map[string]any); ok {
			s, _ := c["schema"].(map[string]any)
			return ct, w.resolve(s)
		}
	}
	if len(content) > 0 {
		w.t.Errorf("%s %s: request body of a media type the walker cannot fill: %v", o.method, o.path, content)
	}
	return "", nil
}

// validBody is the body that goes with a hostile path or query value.
func (w *walker) validBody(o walkOp) func() (io.Reader, string) {
	ct, s := w.requestBody(o)
	return func() (io.Reader, string) {
		switch ct {
		case "application/json":
			b, _ := json.Marshal(w.sample("", s))
			return bytes.NewReader(b), ct
		case "application/x-www-form-urlencoded":
			return strings.NewReader(w.form(s, "", "").Encode()), ct
		case "multipart/form-data":
			return w.multipart(s, "", "", false)
		}
		return nil, ""
	}
}

const hostileMark = "\x01walker-hostile\x01"

func (w *walker) walkBody(o walkOp) {
	ct, s := w.requestBody(o)
	switch ct {
	case "application/json":
		base := w.sample("", s)
		mark, _ := json.Marshal(hostileMark)
		for _, slot := range w.slots(s, nil) {
			body := setAt(base, slot.path, hostileMark)
			raw, _ := json.Marshal(body)
			where := "body " + slot.name()
			for _, hv := range hostileTable {
				refuse := hv.mustRefuse || (hv.text == longText && (maxLen(slot.schema) > 0 || !typeAllows(slot.schema, "string")))
				if hv.name == "control characters" && !typeAllows(slot.schema, "string") {
					refuse = true
				}
				w.checkJSON(o, where, hv.name, refuse, bytes.Replace(raw, mark, []byte(hv.json), 1))
			}
			for _, wt := range wrongTypes {
				if typeAllows(slot.schema, wt.kind) || (wt.kind == "number" && typeAllows(slot.schema, "integer")) {
					continue
				}
				// null is absence to a Go decoder: the handler's rule for a
				// missing field applies, which may accept it.
				refuse := wt.kind != "null"
				w.checkJSON(o, where, "a JSON "+wt.kind, refuse, bytes.Replace(raw, mark, []byte(wt.json), 1))
			}
		}
		for _, doc := range []string{`[]`, `"x"`, `12`, `null`, `{"a":1}{}`, `{"walkerUnknownField":1}`, `{`} {
			w.checkJSON(o, "body", "document "+doc, true, []byte(doc))
		}
	case "application/x-www-form-urlencoded":
		for name := range props(s) {
			for _, hv := range hostileTable {
				if hv.text == "" {
					continue
				}
				w.check(o, "form "+name, hv.name, hv.mustRefuse, func() (*http.Request, string) {
					return httptest.NewRequest(o.method, w.url(o, "", ""), strings.NewReader(w.form(s, name, hv.text).Encode())), ct
				}, nil)
			}
		}
	case "multipart/form-data":
		for name := range props(s) {
			for _, hv := range hostileTable {
				if hv.text == "" {
					continue
				}
				w.check(o, "multipart "+name, hv.name, hv.mustRefuse, func() (*http.Request, string) {
					body, ct := w.multipart(s, name, hv.text, false)
					return httptest.NewRequest(o.method, w.url(o, "", ""), body), ct
				}, nil)
			}
			w.check(o, "multipart "+name, "a text part for a file", true, func() (*http.Request, string) {
				body, ct := w.multipart(s, name, "", true)
				return httptest.NewRequest(o.method, w.url(o, "", ""), body), ct
			}, nil)
		}
	}
}

func (w *walker) checkJSON(o walkOp, where, what string, refuse bool, body []byte) {
	w.check(o, where, what, refuse, func() (*http.Request, string) {
		return httptest.NewRequest(o.method, w.url(o, "", ""), bytes.NewReader(body)), "application/json"
	}, nil)
}

// check sends one hostile request and asserts on its answer and on what the
// database holds afterwards. body, when set, supplies the request body for a
// request built without one.
func (w *walker) check(o walkOp, where, what string, refuse bool, build func() (*http.Request, string), body func() (io.Reader, string)) {
	w.t.Helper()
	r, ct := build()
	if body != nil {
		if rd, bct := body(); rd != nil {
			r.Body, ct = io.NopCloser(rd), bct
		}
	}
	before := w.rowCounts()
	st, b := w.do(r, ct, w.token)
	w.sent++
	label := fmt.Sprintf("%s %s, %s = %s", o.method, o.path, where, what)
	if st >= 500 && !(st == http.StatusNotImplemented && documentsOnly(o, "501")) {
		w.t.Errorf("%s: status %d %s", label, st, trim(b))
		return
	}
	if st < 400 {
		if refuse && !(st/100 == 3 && documents(o, strconv.Itoa(st))) {
			w.t.Errorf("%s: accepted with %d %s", label, st, trim(b))
		}
		return
	}
	if err := errorShape(o.path, st, b); err != nil {
		w.t.Errorf("%s: status %d, %v: %s", label, st, err, trim(b))
	}
	if after := w.rowCounts(); after != before {
		w.t.Errorf("%s: refused with %d but rows changed:\nbefore %s\nafter  %s", label, st, before, after)
	}
}

// errorShape checks an error body: Better Auth's {"message","code"} under
// /api/auth, {"error":{"code","message"}} elsewhere.
func errorShape(path string, status int, b []byte) error {
	if strings.HasPrefix(path, "/api/auth/") {
		if len(b) == 0 && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
			return nil // Better Auth's answer for what is not an endpoint
		}
		var e struct{ Message, Code string }
		if err := json.Unmarshal(b, &e); err != nil || e.Message == "" || e.Code == "" {
			return fmt.Errorf("not Better Auth's error shape")
		}
		return nil
	}
	var e struct {
		Error *struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		return fmt.Errorf("not the REST error shape")
	}
	return nil
}

func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func documents(o walkOp, status string) bool {
	_, ok := o.op["responses"].(map[string]any)[status]
	return ok
}

// documentsOnly: the operation's one documented answer is status (the
// sandbox answers 501 to everything).
func documentsOnly(o walkOp, status string) bool {
	rs := o.op["responses"].(map[string]any)
	_, ok := rs[status]
	return ok && len(rs) == 1
}

// rowCounts is every table's row count, as one comparable string.
func (w *walker) rowCounts() string {
	w.t.Helper()
	parts := make([]string, len(w.counts))
	for i, name := range w.counts {
		parts[i] = fmt.Sprintf(`select %s || '=' || count(*) from %q`, quoteLiteral(name), name)
	}
	rows, err := w.db.Pool.Query(w.t.Context(), strings.Join(parts, " union all "))
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sample is a plausible value for a schema: its example, default or first
// enum value, a real id for fields that name one, else a value of its type.
func (w *walker) sample(name string, s walkSchema) any {
	s = w.resolve(s)
	if v, ok := w.fields[name]; ok {
		return v
	}
	for _, k := range []string{"example", "default"} {
		if v, ok := s[k]; ok && v != nil {
			return v
		}
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	switch firstType(s) {
	case "object":
		out := map[string]any{}
		for k, ps := range props(s) {
			out[k] = w.sample(k, ps)
		}
		return out
	case "array":
		items, _ := s["items"].(map[string]any)
		return []any{w.sample("", items)}
	case "integer", "number":
		if m, ok := s["minimum"].(float64); ok {
			return m
		}
		return 1
	case "boolean":
		return false
	default:
		switch s["format"] {
		case "email":
			return "walker-" + testenv.RandomID(3) + "@example.com"
		case "uri":
			return "https://example.com/walker"
		}
		if p, ok := s["pattern"].(string); ok && strings.Contains(p, ":[0-5][0-9]") {
			return "22:00"
		}
		return "x"
	}
}

func props(s walkSchema) map[string]walkSchema {
	out := map[string]walkSchema{}
	ps, _ := s["properties"].(map[string]any)
	for k, v := range ps {
		out[k], _ = v.(map[string]any)
	}
	return out
}

func firstType(s walkSchema) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, v := range t {
			if v != "null" {
				return v.(string)
			}
		}
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return ""
}

// typeAllows reports whether the schema accepts JSON values of kind; a
// schema without a type accepts anything.
func typeAllows(s walkSchema, kind string) bool {
	switch t := s["type"].(type) {
	case string:
		return t == kind
	case []any:
		for _, v := range t {
			if v == kind {
				return true
			}
		}
		return false
	}
	if _, ok := s["properties"]; ok {
		return kind == "object"
	}
	return s["enum"] == nil
}

func maxLen(s walkSchema) int {
	if m, ok := s["maxLength"].(float64); ok && m < float64(len(longText)) {
		return int(m)
	}
	if _, ok := s["enum"]; ok {
		return 1
	}
	if f, _ := s["format"].(string); f == "email" || f == "uri" {
		return 1 // bounded by the rules for its format
	}
	return 0
}

// slot is one place in a JSON body where a hostile value goes.
type slot struct {
	path     []any // keys and indexes
	schema   walkSchema
	required bool
}

func (s slot) name() string {
	var b strings.Builder
	for _, p := range s.path {
		switch p := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		}
	}
	return b.String()
}

// slots lists every property of s, at any depth (arrays by their first item).
func (w *walker) slots(s walkSchema, at []any) []slot {
	s = w.resolve(s)
	var out []slot
	req := map[string]bool{}
	if rs, ok := s["required"].([]any); ok {
		for _, r := range rs {
			req[r.(string)] = true
		}
	}
	switch firstType(s) {
	case "object":
		names := make([]string, 0)
		for k := range props(s) {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			ps := w.resolve(props(s)[k])
			p := append(append([]any{}, at...), k)
			out = append(out, slot{p, ps, req[k]})
			out = append(out, w.slots(ps, p)...)
		}
	case "array":
		items, _ := s["items"].(map[string]any)
		items = w.resolve(items)
		p := append(append([]any{}, at...), 0)
		out = append(out, slot{p, items, true})
		out = append(out, w.slots(items, p)...)
	}
	return out
}

// setAt returns a deep copy of v with the value at path replaced.
func setAt(v any, path []any, val any) any {
	if len(path) == 0 {
		return val
	}
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = x
		}
		k := path[0].(string)
		c[k] = setAt(v[k], path[1:], val)
		return c
	case []any:
		c := append([]any{}, v...)
		i := path[0].(int)
		for len(c) <= i {
			c = append(c, nil)
		}
		c[i] = setAt(c[i], path[1:], val)
		return c
	}
	if s, ok := path[0].(string); ok {
		return map[string]any{s: setAt(nil, path[1:], val)}
	}
	return []any{setAt(nil, path[1:], val)}
}

func (w *walker) form(s walkSchema, hostileField, value string) url.Values {
	v := url.Values{}
	for k, ps := range props(s) {
		if k == hostileField {
			v.Set(k, value)
		} else {
			v.Set(k, fmt.Sprint(w.sample(k, ps)))
		}
	}
	return v
}

// multipart builds a form: binary fields are files (the hostile value as the
// file name, or a plain text part when textForFile), the rest text parts.
func (w *walker) multipart(s walkSchema, hostileField, value string, textForFile bool) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, ps := range props(s) {
		hot := k == hostileField
		if ps["format"] == "binary" && !(hot && textForFile) {
			name := "walker.txt"
			if hot {
				name = value
			}
			h := textproto.MIMEHeader{}
			// Written by hand: mime/multipart would escape the name's bytes.
			h.Set("Content-Disposition", `form-data; name="`+k+`"; filename="`+name+`"`)
			h.Set("Content-Type", "text/plain")
			part, _ := mw.CreatePart(h)
			_, _ = part.Write([]byte("hi\n"))
			continue
		}
		val := fmt.Sprint(w.sample(k, ps))
		if hot {
			val = value
		}
		_ = mw.WriteField(k, val)
	}
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

// TestShimSocketUpgradeRefusesHostileBearers: the shim's /ws, forwarded to a
// relay, answers a bearer that is no token 401 with the JSON error, and a
// control byte in the header 4xx (Go's HTTP server refuses it before any
// handler runs); never a 5xx.
func TestShimSocketUpgradeRefusesHostileBearers(t *testing.T) {
	_, h := shimFor(t, testenv.Config(t), true)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	upgrade := func(bearer string) (int, []byte) {
		return testenv.RawRequest(t, addr, "GET /ws HTTP/1.1\r\nHost: "+addr+"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: "+bearer+"\r\n\r\n")
	}
	for _, bearer := range []string{"Bearer \xc3\x28", "Bearer \xff\xfe", "Bearer ok\xc3", "Bearer nope"} {
		st, body := upgrade(bearer)
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if st != http.StatusUnauthorized || json.Unmarshal(body, &e) != nil || e.Error.Code != "unauthorized" {
			t.Errorf("Authorization %q: %d %s, want 401 unauthorized", bearer, st, body)
		}
	}
	for _, bearer := range []string{"Bearer \x00", "Bearer ok\x00", "Bearer \x7f"} {
		if st, body := upgrade(bearer); st < 400 || st >= 500 {
			t.Errorf("Authorization %q: %d %s, want 4xx", bearer, st, body)
		}
	}
}
