package stream

import "testing"

// A note keeps an end's free-text message whole, newlines and all, and a
// member that is not a note is told apart.
func TestSettleNoteRoundTrip(t *testing.T) {
	for _, n := range []settleNote{
		{replyID: "r_42", status: "error", code: "agent_error", reason: "timeout", message: "zwei\nZeilen\n"},
		{replyID: "r_43", channelID: "ch_7", status: "complete"},
	} {
		got, ok := parseSettleNote(n.member())
		if !ok || got != n {
			t.Fatalf("parseSettleNote = %+v, %v", got, ok)
		}
	}
	for _, bad := range []string{"", "r_42", "r_42\n\ncomplete", "not an id!\n\ncomplete\n\n\n", "r_42\nnot an id!\ncomplete\n\n\n"} {
		if _, ok := parseSettleNote(bad); ok {
			t.Fatalf("%q parsed as a note", bad)
		}
	}
}
