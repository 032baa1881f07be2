package appbridge

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

func loadChess(t testing.TB) Manifest {
	t.Helper()
	data, err := os.ReadFile("testdata/chess.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		t.Fatalf("ParseManifest(chess): %v", err)
	}
	return m
}

func chessSession(mode ControlMode) Session {
	return Session{ID: "s1", ConversationID: "c1", AppID: "a1", AppSlug: "chess", AppVersionID: "v1", Mode: mode}
}

// wantCode fails unless err is an *Error with the given code and callID.
func wantCode(t *testing.T, err error, code Code, callID string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want *Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%s), want %s", e.Code, e.Message, code)
	}
	if e.CallID != callID {
		t.Fatalf("callId = %q, want %q", e.CallID, callID)
	}
	if len(e.Message) == 0 || len(e.Message) > MaxErrorMessageBytes {
		t.Fatalf("message length %d out of bounds: %q", len(e.Message), e.Message)
	}
	if ErrorCode(err) != code {
		t.Fatalf("ErrorCode = %s, want %s", ErrorCode(err), code)
	}
	return e
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
