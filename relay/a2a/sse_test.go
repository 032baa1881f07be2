package a2a

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string, max int) ([]sseEvent, error) {
	t.Helper()
	r := newSSEReader(strings.NewReader(in), max)
	var out []sseEvent
	for {
		ev, err := r.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestSSEFraming(t *testing.T) {
	in := ": comment\r\n\r\n" +
		"id: 1\r\nretry: 10\r\ndata: a\r\ndata:b\r\n\r\n" + // CRLF, two data lines, no space after colon
		"event: error\ndata: {\"x\":1}\n\n" +
		"event: lonely\n\n" + // no data: dropped
		"data\n\n" + // field with no colon: empty data
		"data: last" // no trailing newline at all
	evs, err := readAll(t, in, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []sseEvent{{"message", []byte("a\nb")}, {"error", []byte(`{"x":1}`)}, {"message", []byte("")}, {"message", []byte("last")}}
	if len(evs) != len(want) {
		t.Fatalf("got %d events: %q", len(evs), evs)
	}
	for i := range want {
		if evs[i].name != want[i].name || string(evs[i].data) != string(want[i].data) {
			t.Fatalf("event %d = %q %q, want %q %q", i, evs[i].name, evs[i].data, want[i].name, want[i].data)
		}
	}
}

func TestSSELargeLines(t *testing.T) {
	big := strings.Repeat("é", 3<<20) // 6 MiB on one line, far past bufio's 64 KiB
	evs, err := readAll(t, "data: "+big+"\n\ndata: next\n\n", 8<<20)
	if err != nil || len(evs) != 2 || string(evs[0].data) != big || string(evs[1].data) != "next" {
		t.Fatalf("%d events, err %v", len(evs), err)
	}
	if _, err := readAll(t, "data: "+big+"\n\n", 1<<20); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("over limit: %v", err)
	}
	// Many data lines that together exceed the limit.
	many := strings.Repeat("data: "+strings.Repeat("x", 1000)+"\n", 2000)
	if _, err := readAll(t, many+"\n", 1<<20); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("joined over limit: %v", err)
	}
}
