package metrics

import (
	"bytes"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Socket kinds, the "kind" label of the socket and frame metrics.
const (
	Client = "client"
	Agent  = "agent"
)

// Frame types that are not a frame's own: frames refused by the decoder, and
// types past the cap on distinct labels or not spelled like a type.
const (
	TypeInvalid = "invalid"
	TypeOther   = "other"
)

// maxTypes bounds the distinct "type" labels per kind and direction, so a
// peer cannot grow the exposition (the decoder refuses unknown types anyway;
// this also covers types peeked from outgoing frames).
const maxTypes = 64

var (
	socketsOpen = register(prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ari_sockets_open", Help: "WebSockets open on this relay instance, by kind (client, agent).",
	}, []string{"kind"}))
	framesIn = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ari_frames_in_total", Help: "Frames received and decoded by the relay, by socket kind and frame type (invalid: refused by the decoder).",
	}, []string{"kind", "type"}))
	framesOut = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ari_frames_out_total", Help: "Frames written to sockets by the relay, by socket kind and frame type.",
	}, []string{"kind", "type"}))

	clientSockets = socketsOpen.WithLabelValues(Client)
	agentSockets  = socketsOpen.WithLabelValues(Agent)
	clientIn      = typeCounters(framesIn, Client)
	agentIn       = typeCounters(framesIn, Agent)
	clientOut     = typeCounters(framesOut, Client)
	agentOut      = typeCounters(framesOut, Agent)
)

// SocketOpened counts a socket of kind (Client or Agent) as open; call
// SocketClosed with the same kind when it has closed.
func SocketOpened(kind string) { sockets(kind).Inc() }

// SocketClosed undoes SocketOpened.
func SocketClosed(kind string) { sockets(kind).Dec() }

func sockets(kind string) prometheus.Gauge {
	if kind == Agent {
		return agentSockets
	}
	return clientSockets
}

// Typed is a decoded frame (relay/protocol.Frame).
type Typed interface{ FrameType() string }

// FrameIn counts a frame received on a socket of kind: f as decoded, nil
// when the decoder refused it (type "invalid").
func FrameIn(kind string, f Typed) {
	typ := TypeInvalid
	if f != nil {
		typ = f.FrameType()
	}
	if kind == Agent {
		agentIn.get(typ).Inc()
		return
	}
	clientIn.get(typ).Inc()
}

// ClientFrameOut counts a frame written to a client socket, its type read
// from the frame itself (frames start {"type":"…"}).
func ClientFrameOut(frame []byte) { clientOut.getBytes(peekType(frame)).Inc() }

// AgentFrameOut counts a frame written to an agent socket.
func AgentFrameOut(frame []byte) { agentOut.getBytes(peekType(frame)).Inc() }

// labelled resolves a vector's child per label value once: a lookup is a
// read of an immutable map (copied on the rare first sight of a value), so
// it allocates nothing and takes no lock. Values that do not look like a
// type or command, and values past maxTypes, share the child of other.
type labelled[T any] struct {
	child  func(label string) T
	other  string
	mu     sync.Mutex
	labels int // distinct label values made so far; under mu
	m      atomic.Pointer[map[string]T]
}

func newLabelled[T any](child func(label string) T, other string) *labelled[T] {
	l := &labelled[T]{child: child, other: other}
	m := map[string]T{}
	l.m.Store(&m)
	return l
}

func (l *labelled[T]) get(v string) T {
	if c, ok := (*l.m.Load())[v]; ok {
		return c
	}
	return l.add(v)
}

func (l *labelled[T]) getBytes(v []byte) T {
	if c, ok := (*l.m.Load())[string(v)]; ok { // no allocation: a map index
		return c
	}
	return l.add(string(v))
}

func (l *labelled[T]) add(v string) T {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.m.Load()
	if c, ok := old[v]; ok {
		return c
	}
	var c T
	if typeLike(v) && l.labels < maxTypes {
		l.labels++
		c = l.child(v)
	} else {
		c = l.child(l.other)
	}
	if len(old) >= 2*maxTypes {
		return c // a lookup under the lock from now on for such values; the map stays bounded
	}
	m := make(map[string]T, len(old)+1)
	for k, x := range old {
		m[k] = x
	}
	m[v] = c
	l.m.Store(&m)
	return c
}

func typeCounters(vec *prometheus.CounterVec, kind string) *labelled[prometheus.Counter] {
	return newLabelled(func(typ string) prometheus.Counter { return vec.WithLabelValues(kind, typ) }, TypeOther)
}

// typeLike: lower-case letters, digits and underscores, at most 40 bytes.
func typeLike(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '_' {
			return false
		}
	}
	return true
}

var (
	typePrefix = []byte(`{"type":"`)
	otherType  = []byte(TypeOther)
)

// peekType returns the value of a frame's leading "type" key, or "other".
func peekType(frame []byte) []byte {
	if !bytes.HasPrefix(frame, typePrefix) {
		return otherType
	}
	rest := frame[len(typePrefix):]
	if len(rest) > 41 {
		rest = rest[:41]
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return otherType
	}
	return rest[:end]
}
