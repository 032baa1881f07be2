package account

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
)

// Exporter writes a user's data as one JSON document, page by page as it
// reads it (store.ExportPage rows at a time), so memory does not grow with
// the account and no connection is held while the client reads:
//
//	{"format":"ari.export.v1","exportedAt":…,"user":{…},"accounts":[…],
//	 "agents":[…],"conversations":[{…,"messages":[…]}],"reactions":[…],
//	 "uploads":[…]}
//
// Agents come without tokens or A2A credentials; uploads with a fresh link
// (presigned links expire after FILE_URL_TTL). README "Export" lists every
// field.
type Exporter struct {
	DB      *store.DB
	Storage storage.Store
}

// Profile is the export's "user".
type Profile struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"emailVerified"`
	Image         *string  `json:"image"`
	CreatedAt     ari.Time `json:"createdAt"`
	UpdatedAt     ari.Time `json:"updatedAt"`
}

// linkedAccount is an "accounts" item: how the user signs in, no secrets.
type linkedAccount struct {
	ProviderID string   `json:"providerId"`
	AccountID  string   `json:"accountId"`
	CreatedAt  ari.Time `json:"createdAt"`
}

// exportAgent is an "agents" item: the owner's view minus every secret.
type exportAgent struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Handle      string      `json:"handle"`
	Description string      `json:"description"`
	AvatarURL   *string     `json:"avatarUrl"`
	Visibility  string      `json:"visibility"`
	Skills      []ari.Skill `json:"skills"`
	A2AEndpoint *string     `json:"a2aEndpoint"`
	CreatedAt   ari.Time    `json:"createdAt"`
	UpdatedAt   ari.Time    `json:"updatedAt"`
}

// jsonOut writes JSON tokens with the commas in between.
type jsonOut struct {
	w     *bufio.Writer
	enc   *json.Encoder
	first []bool
	err   error
}

func (o *jsonOut) raw(s string) {
	if o.err == nil {
		_, o.err = o.w.WriteString(s)
	}
}

// sep writes a comma unless this is the first item of the open container.
func (o *jsonOut) sep() {
	top := len(o.first) - 1
	if !o.first[top] {
		o.raw(",")
	}
	o.first[top] = false
}

func (o *jsonOut) open(s string)  { o.raw(s); o.first = append(o.first, true) }
func (o *jsonOut) close(s string) { o.raw(s); o.first = o.first[:len(o.first)-1] }

func (o *jsonOut) key(k string) {
	o.sep()
	b, _ := json.Marshal(k)
	o.raw(string(b) + ":")
}

// value writes v (Encoder adds a newline, which JSON allows).
func (o *jsonOut) value(v any) {
	if o.err == nil {
		o.err = o.enc.Encode(v)
	}
}

func (o *jsonOut) item(v any) { o.sep(); o.value(v) }

// Write streams the export of u to w. Once it has started writing, an
// error leaves the document unfinished; the caller must then abort the
// response rather than end it normally.
func (x Exporter) Write(ctx context.Context, w io.Writer, u Profile) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	o := &jsonOut{w: bw, enc: enc}
	o.open("{")
	o.key("format")
	o.value("ari.export.v1")
	o.key("exportedAt")
	o.value(ari.T(time.Now()))
	o.key("user")
	o.value(u)

	o.key("accounts")
	o.open("[")
	accs, err := x.DB.AccountsOf(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, a := range accs {
		o.item(linkedAccount{ProviderID: a.ProviderID, AccountID: a.AccountID, CreatedAt: a.CreatedAt})
	}
	o.close("]")

	o.key("agents")
	o.open("[")
	for after := ""; ; {
		page, err := x.DB.AccountAgentsPage(ctx, u.ID, after)
		if err != nil {
			return err
		}
		for _, a := range page {
			o.item(exportAgent{ID: a.ID, Name: a.Name, Handle: a.Handle, Description: a.Description, AvatarURL: a.AvatarURL,
				Visibility: a.Visibility, Skills: a.Skills, A2AEndpoint: a.A2AEndpoint, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt})
			after = a.ID
		}
		if len(page) < store.ExportPage || o.err != nil {
			break
		}
	}
	o.close("]")

	o.key("conversations")
	o.open("[")
	for after := ""; ; {
		page, err := x.DB.AccountConversationsPage(ctx, u.ID, after)
		if err != nil {
			return err
		}
		for _, c := range page {
			if err := x.conversation(ctx, o, u.ID, c); err != nil {
				return err
			}
			after = c.ID
		}
		if len(page) < store.ExportPage || o.err != nil {
			break
		}
	}
	o.close("]")

	o.key("reactions")
	o.open("[")
	for m, e := "", ""; ; {
		page, err := x.DB.AccountReactionsPage(ctx, u.ID, m, e)
		if err != nil {
			return err
		}
		for _, r := range page {
			o.item(r)
			m, e = r.MessageID, r.Emoji
		}
		if len(page) < store.ExportPage || o.err != nil {
			break
		}
	}
	o.close("]")

	o.key("uploads")
	o.open("[")
	for after := ""; ; {
		page, err := x.DB.AccountAttachmentsPage(ctx, u.ID, after)
		if err != nil {
			return err
		}
		if err := storage.FreshURLs(ctx, x.Storage, page); err != nil {
			return err
		}
		for _, a := range page {
			o.item(a)
			after = a.ID
		}
		if len(page) < store.ExportPage || o.err != nil {
			break
		}
	}
	o.close("]")
	o.close("}\n")
	if o.err != nil {
		return o.err
	}
	return bw.Flush()
}

// conversation writes one conversation with its messages, a page at a time.
func (x Exporter) conversation(ctx context.Context, o *jsonOut, userID string, c store.AccountConversation) error {
	o.sep()
	o.open("{")
	o.key("id")
	o.value(c.ID)
	o.key("kind")
	o.value(c.Kind)
	o.key("title")
	o.value(c.Title)
	o.key("createdAt")
	o.value(c.CreatedAt)
	o.key("role")
	o.value(c.Role)
	o.key("joinedAt")
	o.value(c.JoinedAt)
	o.key("messages")
	o.open("[")
	for after := int64(0); ; {
		page, err := x.DB.AccountMessagesPage(ctx, userID, c.ID, after)
		if err != nil {
			return err
		}
		for _, m := range page {
			o.item(m)
			after = m.Seq
		}
		if len(page) < store.ExportPage || o.err != nil {
			break
		}
	}
	o.close("]")
	o.close("}")
	return o.err
}
