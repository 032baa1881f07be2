package httpx

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
)

type testPos struct {
	Seq int64  `json:"s"`
	ID  string `json:"i"`
}

func TestCursorRoundTrip(t *testing.T) {
	in := testPos{Seq: 42, ID: "abc/+="}
	c := EncodeCursor(in)
	if strings.ContainsAny(c, "+/=") {
		t.Fatalf("cursor %q is not URL-safe", c)
	}
	var out testPos
	if err := DecodeCursor(c, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("got %+v, want %+v", out, in)
	}
}

func TestDecodeCursorRejectsGarbage(t *testing.T) {
	for _, s := range []string{"", "!!!", EncodeCursor("str"), EncodeCursor(map[string]int{"x": 1}),
		"eyJzIjoxfQ" + strings.Repeat("A", 2000), EncodeCursor(json.RawMessage(`{"s":1}`)) + "e30"} {
		var out testPos
		err := DecodeCursor(s, &out)
		if ari.ErrorCode(err) != ari.CodeInvalid {
			t.Errorf("DecodeCursor(%.30q) = %v, want invalid_request", s, err)
		}
	}
}

func TestPageWire(t *testing.T) {
	b, err := json.Marshal(NewPage[int](nil))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"items":[],"nextCursor":null,"prevCursor":null}` {
		t.Fatalf("got %s", b)
	}
}
