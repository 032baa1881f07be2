package a2a

import (
	"encoding/json"
	"fmt"
	"strings"
)

// update is one stream result, normalised across dialects.
type update struct {
	taskID     string
	contextID  string
	state      string // normalised, "" when the event carries none
	statusText string
	hasStatus  bool // statusText came from a status message
	statusData []json.RawMessage
	artifacts  []artifactChunk
	message    string
	hasMessage bool // a lone Message: the whole reply
	snapshot   bool // a Task object (the whole task as stored), not an update
}

type artifactChunk struct {
	key    string
	text   string
	append bool
}

// decodeResult reads one JSON-RPC result by dialect (FACTS §3).
func decodeResult(d Dialect, raw json.RawMessage) (update, error) {
	switch d {
	case V1:
		var r struct {
			Task           *wireTask           `json:"task"`
			Message        *wireMessage        `json:"message"`
			StatusUpdate   *wireStatusUpdate   `json:"statusUpdate"`
			ArtifactUpdate *wireArtifactUpdate `json:"artifactUpdate"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return update{}, fmt.Errorf("a2a: decode v1.0 event: %w", err)
		}
		switch {
		case r.Task != nil:
			return fromTask(*r.Task), nil
		case r.Message != nil:
			return fromMessage(r.Message), nil
		case r.StatusUpdate != nil:
			return fromStatus(r.StatusUpdate.TaskID, r.StatusUpdate.ContextID, r.StatusUpdate.Status), nil
		case r.ArtifactUpdate != nil:
			return fromArtifact(r.ArtifactUpdate.TaskID, r.ArtifactUpdate.Artifact, r.ArtifactUpdate.Append), nil
		}
		return update{}, nil
	case V03:
		var k struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			return update{}, fmt.Errorf("a2a: decode v0.3 event: %w", err)
		}
		var err error
		var u update
		switch k.Kind {
		case "task":
			var t wireTask
			err = json.Unmarshal(raw, &t)
			u = fromTask(t)
		case "message":
			var m wireMessage
			err = json.Unmarshal(raw, &m)
			u = fromMessage(&m)
		case "status-update":
			var s wireStatusUpdate
			err = json.Unmarshal(raw, &s)
			u = fromStatus(s.TaskID, s.ContextID, s.Status)
		case "artifact-update":
			var a wireArtifactUpdate
			err = json.Unmarshal(raw, &a)
			u = fromArtifact(a.TaskID, a.Artifact, a.Append)
		}
		if err != nil {
			return update{}, fmt.Errorf("a2a: decode v0.3 %s: %w", k.Kind, err)
		}
		return u, nil
	default:
		var r struct {
			ID        string        `json:"id"`
			SessionID string        `json:"sessionId"`
			Status    *wireStatus   `json:"status"`
			Artifact  *wireArtifact `json:"artifact"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return update{}, fmt.Errorf("a2a: decode v0.1 event: %w", err)
		}
		if r.Artifact != nil {
			// v0.1 keeps append inside the artifact object.
			return fromArtifact(r.ID, r.Artifact, r.Artifact.Append), nil
		}
		return fromStatus(r.ID, r.SessionID, r.Status), nil
	}
}

func fromTask(t wireTask) update {
	ctx := t.ContextID
	if ctx == "" {
		ctx = t.SessionID
	}
	u := fromStatus(t.ID, ctx, t.Status)
	u.snapshot = true
	for _, a := range t.Artifacts {
		text, _ := partsText(a.Parts)
		u.artifacts = append(u.artifacts, artifactChunk{key: a.key(), text: text})
	}
	return u
}

func fromMessage(m *wireMessage) update {
	text, ok := m.agentText()
	return update{message: text, hasMessage: ok}
}

func fromStatus(taskID, contextID string, s *wireStatus) update {
	u := update{taskID: taskID, contextID: contextID}
	if s == nil {
		return u
	}
	u.state = normState(s.State)
	u.statusText, u.hasStatus = s.Message.agentText()
	u.statusData = s.Message.agentData()
	if u.contextID == "" && s.Message != nil {
		u.contextID = s.Message.ContextID
	}
	return u
}

func fromArtifact(taskID string, a *wireArtifact, appendFlag bool) update {
	u := update{taskID: taskID}
	if a == nil {
		return u
	}
	text, _ := partsText(a.Parts)
	u.artifacts = []artifactChunk{{key: a.key(), text: text, append: appendFlag}}
	return u
}

// ending reports whether a state ends the turn: terminal, or waiting on the user.
func ending(state string) bool {
	switch state {
	case "completed", "failed", "canceled", "rejected", "input-required", "auth-required":
		return true
	}
	return false
}

// assembler builds the reply text with FACTS §3's precedence: artifact
// text, else status-message deltas, else the final status message, else a
// lone Message.
type assembler struct {
	order  []string
	arts   map[string]*strings.Builder
	deltas []string // status messages of non-ending states

	finalStatus    string // message of the ending state
	hasFinalStatus bool
	finalData      []json.RawMessage // data parts of the ending state's message
	message        string
	hasMessage     bool

	state     string
	taskID    string
	contextID string
	// resuming: the run answers an input-required task, and no event has
	// arrived yet. The first may be the task as stored, still showing the
	// question it waited on; that is not this turn's end.
	resuming bool
}

func (a *assembler) apply(u update) {
	if a.resuming {
		a.resuming = false
		if u.snapshot && u.state == "input-required" {
			u.state, u.hasStatus, u.statusData = "working", false, nil
		}
	}
	if a.taskID == "" && u.taskID != "" {
		a.taskID = u.taskID
	}
	if a.contextID == "" && u.contextID != "" {
		a.contextID = u.contextID
	}
	if u.state != "" {
		a.state = u.state
	}
	if ending(u.state) {
		a.finalData = u.statusData
	}
	if u.hasStatus {
		if ending(u.state) {
			a.finalStatus, a.hasFinalStatus = u.statusText, true
		} else {
			a.deltas = append(a.deltas, u.statusText)
		}
	}
	for _, c := range u.artifacts {
		if a.arts == nil {
			a.arts = map[string]*strings.Builder{}
		}
		b, ok := a.arts[c.key]
		if !ok {
			b = &strings.Builder{}
			a.arts[c.key] = b
			a.order = append(a.order, c.key)
		}
		if !c.append {
			b.Reset()
		}
		b.WriteString(c.text)
	}
	if u.hasMessage {
		a.message, a.hasMessage = u.message, true
	}
}

// text is the best reply text so far. Mid-stream, a single status message
// is held back: agents that stream artifacts often send one progress note
// ("working on it…") first, and showing it only to replace it would flash
// text the user should never see. From the second one on they are deltas.
func (a *assembler) text(done bool) string {
	if len(a.order) > 0 {
		parts := make([]string, 0, len(a.order))
		for _, k := range a.order {
			if s := a.arts[k].String(); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "\n\n")
	}
	if len(a.deltas) > 1 || (done && len(a.deltas) == 1 && !a.hasFinalStatus) {
		return strings.Join(a.deltas, "")
	}
	if a.hasFinalStatus && a.state != "failed" && a.state != "rejected" {
		return a.finalStatus
	}
	if a.hasMessage {
		return a.message
	}
	return ""
}

// outcome turns the last observed state into the relay's terminal outcome.
// A stream that ends without an ending state counts as complete when it
// produced text (SDK agents may return without a terminal event) and as an
// error when it produced nothing.
func (a *assembler) outcome(d Dialect) Outcome {
	o := Outcome{FinalText: a.text(true), RemoteTaskID: a.taskID, RemoteContextID: a.contextID, RemoteState: a.state, Dialect: d}
	switch a.state {
	case "completed":
		o.Status = StatusComplete
	case "canceled":
		o.Status = StatusCancelled
	case "input-required":
		// A question for the person; the task waits for the answer.
		o.Status = StatusInputRequired
		o.Input = &InputRequest{Prompt: a.finalStatus, Data: a.finalData}
	case "auth-required":
		// Credentials the relay cannot give mid-conversation: the owner
		// must set the agent's auth header.
		o.Status = StatusError
		o.Error = "the agent asks for authentication (auth-required); its owner must set its A2A auth header"
	case "failed", "rejected":
		o.Status = StatusError
		o.Error = reason(a.finalStatus)
		if o.Error == "" {
			o.Error = "agent reported " + a.state
		}
	default:
		if o.FinalText != "" || a.hasMessage {
			o.Status = StatusComplete
		} else {
			o.Status = StatusError
			o.Error = "agent stream ended without a reply"
		}
	}
	return o
}
