package ari

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestTimeWireFormat(t *testing.T) {
	v := T(time.Date(2026, 11, 25, 18, 34, 58, 591_234_000, time.FixedZone("x", 3600)))
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"2026-11-25T17:34:58.591Z"` {
		t.Fatalf("got %s", b)
	}
	var back Time
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(v.Truncate(time.Millisecond)) {
		t.Fatalf("round trip: %v %v", back, err)
	}
	_ = context.Background()
}
