package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/ops"
	"github.com/ari-chat/ari-server/shared/platform"
)

// opsCommand runs an operator command (`local conversation <id>`, `local
// agents`, `local drain <instance>`) against the deployment that the
// environment names, printing JSON to w.
func opsCommand(ctx context.Context, w io.Writer, cmd string, args []string) error {
	want := map[string]int{"conversation": 1, "agents": 0, "drain": 1}[cmd]
	if len(args) != want {
		return fmt.Errorf("usage: local conversation <conversationId> | local agents | local drain <relayInstanceId>")
	}
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	var out any
	switch cmd {
	case "conversation":
		if !ari.ValidID(args[0]) {
			return fmt.Errorf("%q is not a conversation id", args[0])
		}
		out, err = ops.Conversation(ctx, p.Redis, p.DB, p.Keys, args[0])
	case "agents":
		out, err = ops.Agents(ctx, p.Redis, p.DB, p.Keys)
	case "drain":
		var heard bool
		heard, err = ops.Drain(ctx, p.Redis, p.Keys, args[0])
		out = map[string]any{"instance": args[0], "draining": heard}
		if err == nil && !heard {
			err = fmt.Errorf("no relay instance %q is listening (see `local agents` or the relay's \"relay listening\" log line)", args[0])
		}
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
