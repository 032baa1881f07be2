package a2a

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrEventTooLarge means one SSE event exceeded Options.MaxEventBytes.
var ErrEventTooLarge = errors.New("a2a: SSE event too large")

// sseEvent is one dispatched server-sent event. An absent "event:" field
// means "message", as the SSE spec says.
type sseEvent struct {
	name string
	data []byte
}

// sseReader is deliberately tolerant: the SDK writes one data line per event,
// but v0.1 servers add id:/event: lines, proxies may rewrite line ends to
// CRLF, and the last event may lack its blank line. A Task snapshot can carry
// the whole history, so lines are limited only by max, not by a scanner's
// 64 KiB default.
type sseReader struct {
	r   *bufio.Reader
	max int

	line []byte
	data bytes.Buffer
	name string
	seen bool // a data field was seen for the pending event
	eof  bool
}

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next event with data, or io.EOF after the last one.
// Events without any data line (e.g. a lone "event:" line) are dropped.
func (s *sseReader) next() (sseEvent, error) {
	for {
		if s.eof {
			if ev, ok := s.dispatch(); ok {
				return ev, nil
			}
			return sseEvent{}, io.EOF
		}
		line, err := s.readLine()
		if err == io.EOF {
			s.eof = true
			if len(line) > 0 {
				if err := s.field(line); err != nil {
					return sseEvent{}, err
				}
			}
			continue
		}
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if ev, ok := s.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if err := s.field(line); err != nil {
			return sseEvent{}, err
		}
	}
}

// readLine returns one line without its LF or CRLF ending. It returns the
// partial last line together with io.EOF.
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		s.line = append(s.line, chunk...)
		if len(s.line) > s.max {
			return nil, fmt.Errorf("%w: line over %d bytes", ErrEventTooLarge, s.max)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line := bytes.TrimSuffix(s.line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		return line, err
	}
}

func (s *sseReader) field(line []byte) error {
	if line[0] == ':' {
		return nil // comment (keep-alive)
	}
	name, value, found := bytes.Cut(line, []byte(":"))
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(name) {
	case "data":
		if s.seen {
			s.data.WriteByte('\n')
		}
		s.data.Write(value)
		s.seen = true
		if s.data.Len() > s.max {
			return fmt.Errorf("%w: event over %d bytes", ErrEventTooLarge, s.max)
		}
	case "event":
		s.name = string(value)
	}
	// id:, retry: and unknown fields carry nothing this client needs.
	return nil
}

func (s *sseReader) dispatch() (sseEvent, bool) {
	defer func() {
		s.data.Reset()
		s.name = ""
		s.seen = false
	}()
	if !s.seen {
		return sseEvent{}, false
	}
	name := s.name
	if name == "" {
		name = "message"
	}
	return sseEvent{name: name, data: bytes.Clone(s.data.Bytes())}, true
}
