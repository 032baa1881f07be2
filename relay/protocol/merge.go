package protocol

import (
	"errors"
	"strings"
)

// Errors of Merge. The relay ends the reply in error with StreamErrInvalidChunk
// or StreamErrReplyTooLarge respectively.
var (
	ErrNotExtending  = errors.New("accumulated chunk does not extend text")
	ErrReplyTooLarge = errors.New("reply exceeds the maximum size")
	ErrUnknownMode   = errors.New("unknown chunk mode")
)

// Merge applies one agent_chunk to the text of a reply so far and returns the
// bytes it adds (what clients receive as stream_chunk.delta) and the new text.
//
//   - ModeDelta: chunk is appended.
//   - ModeAccumulated: chunk is the whole text so far; it must start with
//     textSoFar (else ErrNotExtending) and the delta is the rest. A chunk equal
//     to textSoFar adds nothing, and so does an empty chunk (the keep-alive
//     of every mode: it never shortens the text).
//   - "" (mode absent): the chunk counts as accumulated when textSoFar is not
//     empty and chunk is longer than textSoFar and starts with it; otherwise as
//     a delta. So the first chunk and an empty chunk are deltas (both readings
//     agree); an accumulated chunk that repeats the text unchanged is misread as
//     a delta and doubles it, and a delta that happens to begin with the whole
//     text so far is misread as accumulated. Agents should therefore send mode.
//
// A result longer than MaxReplyBytes is ErrReplyTooLarge. Strings in Go are
// bytes, so a prefix test on valid UTF-8 never splits a character: the delta of
// an accumulated chunk always starts on a character boundary.
func Merge(textSoFar, chunk, mode string) (delta, newText string, err error) {
	switch mode {
	case ModeDelta:
	case ModeAccumulated:
		if chunk == "" {
			return checkSize(textSoFar, "") // a keep-alive, as in every mode
		}
		if !strings.HasPrefix(chunk, textSoFar) {
			return "", textSoFar, ErrNotExtending
		}
		delta = chunk[len(textSoFar):]
		return checkSize(textSoFar, delta)
	case "":
		if textSoFar != "" && len(chunk) > len(textSoFar) && strings.HasPrefix(chunk, textSoFar) {
			return checkSize(textSoFar, chunk[len(textSoFar):])
		}
	default:
		return "", textSoFar, ErrUnknownMode
	}
	return checkSize(textSoFar, chunk)
}

func checkSize(textSoFar, delta string) (string, string, error) {
	if len(textSoFar)+len(delta) > MaxReplyBytes {
		return "", textSoFar, ErrReplyTooLarge
	}
	return delta, textSoFar + delta, nil
}
