package ari

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
)

// TimeLayout is the wire format for every time: ISO-8601, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Time marshals as TimeLayout (Better Auth and JavaScript's Date.toJSON agree).
type Time struct{ time.Time }

// T wraps t.
func T(t time.Time) Time { return Time{t} }

// FormatTime renders t in the wire format.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + FormatTime(t.Time) + `"`), nil
}

func (t *Time) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// Scan lets database drivers (pgx via database/sql's Scanner) read into Time.
func (t *Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.Time = time.Time{}
	case time.Time:
		t.Time = v.UTC()
	default:
		return fmt.Errorf("ari.Time: cannot scan %T", src)
	}
	return nil
}

// Value writes Time as a timestamp.
func (t Time) Value() (driver.Value, error) {
	if t.IsZero() {
		return nil, nil
	}
	return t.Time, nil
}
