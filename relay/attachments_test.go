package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// A message's attachments reach the agent's task as links that work: the
// relay signs them when it sends the task. Someone else's attachment id is
// refused and nothing is stored.
func TestTaskCarriesWorkingAttachmentLinks(t *testing.T) {
	dir := t.TempDir()
	c := newCluster(t, map[string]string{"UPLOAD_DIR": dir})
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	// The same storage the relay builds from its environment.
	cfg, err := config.FromMap(map[string]string{"UPLOAD_DIR": dir, "BETTER_AUTH_URL": c.env["BETTER_AUTH_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	local := st.(*storage.Local)
	defer local.Close()
	ctx := context.Background()
	body := []byte("notes for the agent\n")
	key := "u/" + w.users[0].ID + "/notes.txt"
	if err := st.Put(ctx, key, bytes.NewReader(body), int64(len(body)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	att, err := c.db.CreateAttachment(ctx, ari.Attachment{OwnerID: w.users[0].ID, StorageKey: key, Name: "notes.txt",
		ContentType: "text/plain", Size: int64(len(body)), Status: ari.AttachmentReady})
	if err != nil {
		t.Fatal(err)
	}

	// Another user's attachment: refused, nothing stored.
	other := testenv.NewUser(t, c.db, "Mallory")
	foreign, err := c.db.CreateAttachment(ctx, ari.Attachment{OwnerID: other.ID, StorageKey: "u/" + other.ID + "/x.txt",
		Name: "x.txt", ContentType: "text/plain", Size: 1, Status: ari.AttachmentReady})
	if err != nil {
		t.Fatal(err)
	}
	client.send(map[string]any{"type": "send_message", "conversationId": w.conv, "content": "look", "clientMessageId": "att-0",
		"attachments": []string{foreign.ID}})
	if e := client.expect("error"); e.str("code") != "not_found" {
		t.Fatalf("foreign attachment: %v", e)
	}
	var n int
	if err := c.db.Pool.QueryRow(ctx, `select count(*) from messages where conversation_id = $1`, w.conv).Scan(&n); err != nil || n != 0 {
		t.Fatalf("messages stored after a refused send: %d (%v)", n, err)
	}

	client.send(map[string]any{"type": "send_message", "conversationId": w.conv, "content": "read this", "clientMessageId": "att-1",
		"attachments": []string{att.ID}})
	client.expectWhere("message_ack", func(f frame) bool { return f.str("clientMessageId") == "att-1" })
	task := agent.expect("task")
	atts, _ := task.obj("message")["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("task attachments = %v", task.obj("message")["attachments"])
	}
	a := frame(atts[0].(map[string]any))
	if a.str("id") != att.ID || a.str("contentType") != "text/plain" || a.num("size") != int64(len(body)) || a.str("name") != "notes.txt" {
		t.Fatalf("task attachment = %v", a)
	}
	// The link is signed for the shim's /files/ route; serve that route here.
	link, err := url.Parse(a.str("url"))
	if err != nil || link.Query().Get("sig") == "" {
		t.Fatalf("link %q is not a signed link", a.str("url"))
	}
	files := httptest.NewServer(storage.LocalHandler(local))
	defer files.Close()
	resp, err := http.Get(files.URL + link.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("fetching the task's link: %d %q", resp.StatusCode, got)
	}
}
