package agents

import (
	"bufio"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/store"
)

// ExportDocument describes the JSON that GET /api/agents/{id}/export streams.
// It is written piece by piece, never built as this value, so an export of
// any size costs the server one row of memory at a time.
type ExportDocument struct {
	ExportedAt ari.Time    `json:"exportedAt"`
	Agent      ari.Agent   `json:"agent"`
	Skills     []ari.Skill `json:"skills"`
	// Conversations are those the owner shares with the agent, oldest first,
	// each with every message in seq order (deleted ones as tombstones).
	Conversations []ExportConversation `json:"conversations"`
}

// ExportConversation is one conversation of an export.
type ExportConversation struct {
	store.ExportConversation
	Messages []ari.Message `json:"messages"`
}

// flushEvery bounds how much of the export waits in the buffer.
const flushEvery = 32 << 10

func (h handler) export(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	a, err := h.owned(r)
	if err != nil {
		return err
	}
	head, err := json.Marshal(struct {
		ExportedAt ari.Time    `json:"exportedAt"`
		Agent      ari.Agent   `json:"agent"`
		Skills     []ari.Skill `json:"skills"`
	}{ari.T(time.Now()), a, a.Skills})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="agent-`+a.Handle+`.json"`)
	w.WriteHeader(http.StatusOK)

	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, flushEvery)
	// head is a complete object; reopen it to append the conversations array.
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"conversations":[`)
	current, first := "", true
	err = h.DB.EachAgentExportRow(r.Context(), caller.ID, a.ID, func(c store.ExportConversation, m *ari.Message) error {
		if c.ID != current {
			if current != "" {
				bw.WriteString("]}")
			}
			if !first {
				bw.WriteByte(',')
			}
			first, current = false, c.ID
			cj, err := json.Marshal(c)
			if err != nil {
				return err
			}
			bw.Write(cj[:len(cj)-1])
			bw.WriteString(`,"messages":[`)
			if m == nil {
				return nil
			}
		} else {
			bw.WriteByte(',')
		}
		mj, err := json.Marshal(m)
		if err != nil {
			return err
		}
		bw.Write(mj)
		if bw.Buffered() >= flushEvery/2 {
			if err := bw.Flush(); err != nil {
				return err
			}
			// Under Lambda the response is buffered whole; nothing to flush.
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// The status is already sent: the client sees a truncated document
		// (invalid JSON), never a silently partial one that parses.
		slog.ErrorContext(r.Context(), "agent export stopped", "agent", a.ID, "err", err)
		_ = bw.Flush()
		return nil
	}
	if current != "" {
		bw.WriteString("]}")
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}
