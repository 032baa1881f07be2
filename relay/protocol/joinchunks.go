package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// MaxJoinedChunkBytes bounds a frame JoinChunkFrames makes.
const MaxJoinedChunkBytes = 64 << 10

var (
	streamChunkStart        = []byte(`{"type":"stream_chunk",`)
	channelStreamChunkStart = []byte(`{"type":"channel_stream_chunk",`)
	deltaKey                = []byte(`,"delta":"`)
	offsetKey               = []byte(`","offset":`)
)

// JoinChunkFrames joins two encoded chunk frames of one reply into one when
// b's text starts where a's ends: both stream_chunk (same messageId and
// conversationId) or both channel_stream_chunk (same channelId and
// messageId), encoded as Encode writes them, with b.offset equal to a.offset
// plus a.delta's length in bytes. The result carries a's offset and both
// deltas; a and b are left as they are (they may be shared). A socket's
// queue joins a frame to the one before it while that one waits to be
// written, so a client that reads slower than an agent writes gets fewer,
// larger frames instead of a full queue.
func JoinChunkFrames(a, b []byte) ([]byte, bool) {
	if len(a)+len(b) > MaxJoinedChunkBytes {
		return nil, false
	}
	switch {
	case bytes.HasPrefix(a, streamChunkStart) && bytes.HasPrefix(b, streamChunkStart):
	case bytes.HasPrefix(a, channelStreamChunkStart) && bytes.HasPrefix(b, channelStreamChunkStart):
	default:
		return nil, false
	}
	headA, deltaA, offA, ok := splitChunkFrame(a)
	if !ok {
		return nil, false
	}
	headB, deltaB, offB, ok := splitChunkFrame(b)
	if !ok || !bytes.Equal(headA, headB) {
		return nil, false
	}
	n, ok := quotedLen(deltaA)
	if !ok || offA+int64(n) != offB {
		return nil, false
	}
	out := make([]byte, 0, len(a)+len(deltaB))
	out = append(out, headA...)
	out = append(out, deltaKey...)
	out = append(out, deltaA...)
	out = append(out, deltaB...)
	out = append(out, offsetKey...)
	out = strconv.AppendInt(out, offA, 10)
	return append(out, '}'), true
}

// splitChunkFrame cuts f into what precedes ,"delta":", the delta's quoted
// contents, and the offset. A string's quotes inside a JSON string are
// escaped, so the keys' unescaped quotes appear only as the frame's own.
func splitChunkFrame(f []byte) (head, delta []byte, offset int64, ok bool) {
	i := bytes.Index(f, deltaKey)
	j := bytes.LastIndex(f, offsetKey)
	if i < 0 || j < i+len(deltaKey) || f[len(f)-1] != '}' {
		return nil, nil, 0, false
	}
	digits := f[j+len(offsetKey) : len(f)-1]
	if len(digits) == 0 || len(digits) > 15 {
		return nil, nil, 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, nil, 0, false
		}
	}
	off, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return nil, nil, 0, false
	}
	return f[:i], f[i+len(deltaKey) : j], off, true
}

// quotedLen is the length in bytes of the string whose JSON-escaped
// contents (without the quotes) are q.
func quotedLen(q []byte) (int, bool) {
	if bytes.IndexByte(q, '\\') < 0 {
		if bytes.IndexByte(q, '"') >= 0 {
			return 0, false
		}
		return len(q), true
	}
	var s string
	buf := make([]byte, 0, len(q)+2)
	buf = append(append(append(buf, '"'), q...), '"')
	if json.Unmarshal(buf, &s) != nil {
		return 0, false
	}
	return len(s), true
}
