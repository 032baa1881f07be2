package httpx

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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

func TestLimit(t *testing.T) {
	for q, want := range map[string]int{"": 50, "?limit=1": 1, "?limit=100": 100, "?limit=0": -1, "?limit=101": -1, "?limit=x": -1, "?limit=-3": -1} {
		r := httptest.NewRequest("GET", "/x"+q, nil)
		n, err := Limit(r, 50, 100)
		if want < 0 {
			if ari.ErrorCode(err) != ari.CodeInvalid {
				t.Errorf("%q: err %v, want invalid_request", q, err)
			}
			continue
		}
		if err != nil || n != want {
			t.Errorf("%q: %d, %v; want %d", q, n, err, want)
		}
	}
}

func TestPageRequest(t *testing.T) {
	req := func(q string) *http.Request { return httptest.NewRequest("GET", "/x?"+q, nil) }
	limit, after, err := PageRequest[testPos](req(""), 30, 100)
	if err != nil || limit != 30 || after != nil {
		t.Fatalf("no query: %d %v %v", limit, after, err)
	}
	c := EncodeCursor(testPos{Seq: 7, ID: "m"})
	limit, after, err = PageRequest[testPos](req("limit=5&cursor="+c), 30, 100)
	if err != nil || limit != 5 || after == nil || *after != (testPos{Seq: 7, ID: "m"}) {
		t.Fatalf("limit and cursor: %d %v %v", limit, after, err)
	}
	for _, q := range []string{"limit=0", "limit=101", "cursor=%00", "cursor=" + EncodeCursor(map[string]any{"x": 1})} {
		var e *ari.Error
		if _, _, err := PageRequest[testPos](req(q), 30, 100); !errors.As(err, &e) || e.Code != ari.CodeInvalid {
			t.Errorf("%s: %v, want invalid_request", q, err)
		}
	}
}
