package stream

import (
	"strconv"
	"unicode/utf8"
)

// appendStreamChunk encodes a stream_chunk frame byte for byte as
// protocol.Encode does, without reflection: it is the relay's most frequent
// frame (chunkframe_test.go holds the two together).
func appendStreamChunk(dst []byte, messageID, conversationID, delta string, offset int64) []byte {
	dst = append(dst, `{"type":"stream_chunk","messageId":`...)
	dst = appendJSONString(dst, messageID)
	dst = append(dst, `,"conversationId":`...)
	dst = appendJSONString(dst, conversationID)
	dst = append(dst, `,"delta":`...)
	dst = appendJSONString(dst, delta)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, offset, 10)
	return append(dst, '}')
}

// appendChannelStreamChunk encodes a channel_stream_chunk frame as
// protocol.Encode does.
func appendChannelStreamChunk(dst []byte, channelID, messageID, delta string, offset int64) []byte {
	dst = append(dst, `{"type":"channel_stream_chunk","channelId":`...)
	dst = appendJSONString(dst, channelID)
	dst = append(dst, `,"messageId":`...)
	dst = appendJSONString(dst, messageID)
	dst = append(dst, `,"delta":`...)
	dst = appendJSONString(dst, delta)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, offset, 10)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping off:
// quote, backslash and control characters escaped, invalid UTF-8 replaced by
// U+FFFD, U+2028 and U+2029 escaped (JavaScript line terminators).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
