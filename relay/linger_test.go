package main

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// A socket that connects while an agent's chunks are gathering on this
// instance (RELAY_CHUNK_LINGER, here its longest) is not given those chunks
// live, and its own instance drops their published copies: its sync must
// hold them. Before sync waited for the feed, the text it returned missed
// every chunk still on its way to the buffer (at once after the first here;
// without a linger, the chunks of one Redis round trip).
func TestSyncRightAfterChunksHasThem(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_CHUNK_LINGER": "1s"})
	r := c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	agentID, token := newAgent(t, c.db, ada, "Echo Bot")
	conv := newConversation(t, c.db, "direct", []testenv.TestUser{ada}, agentID)
	first := dialClient(t, r, ada)
	agent := dialAgent(t, r, token)

	first.sendMessage(conv, "Erzähl mir von Kyōto", "linger-1")
	id := agent.expect("task").str("taskId")
	pieces := []string{"Kyōto war ", "über tausend Jahre ", "die Hauptstadt ", "Japans."}
	seen := &assembler{}
	for _, p := range pieces {
		agent.send(map[string]any{"type": "agent_chunk", "taskId": id, "content": p, "mode": "delta"})
		want := len(seen.text) + len(p)
		for len(seen.text) < want {
			f := first.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == id })
			if err := seen.apply(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	if string(seen.text) != "Kyōto war über tausend Jahre die Hauptstadt Japans." {
		t.Fatalf("the first socket assembled %q", seen.text)
	}

	for round := range 3 {
		late := dialClient(t, r, ada)
		late.send(map[string]any{"type": "sync"})
		res := late.expect("sync_result")
		streams, _ := res["activeStreams"].([]any)
		if len(streams) != 1 {
			t.Fatalf("round %d: activeStreams = %v", round, res["activeStreams"])
		}
		s := frame(streams[0].(map[string]any))
		if s.str("messageId") != id || s.str("content") != string(seen.text) || s.num("offset") != int64(len(seen.text)) {
			t.Fatalf("round %d: sync right after the chunks gave %q at offset %d, want %q at %d",
				round, s.str("content"), s.num("offset"), seen.text, len(seen.text))
		}
		late.ws.Close()
		more := " Rund 1.600 Tempel."
		if round > 0 {
			more = " Noch einer."
		}
		agent.send(map[string]any{"type": "agent_chunk", "taskId": id, "content": more, "mode": "delta"})
		want := len(seen.text) + len(more)
		for len(seen.text) < want {
			if err := seen.apply(first.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == id })); err != nil {
				t.Fatal(err)
			}
		}
	}

	agent.send(map[string]any{"type": "agent_complete", "taskId": id})
	end := first.collect(id, seen).ended
	if end.str("status") != "complete" || end.str("content") != string(seen.text) {
		t.Fatalf("stream_end %v, assembled %q", end, seen.text)
	}
}
