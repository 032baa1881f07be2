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
	clientIn      = newTypeCounters(framesIn, Client)
	agentIn       = newTypeCounters(framesIn, Agent)
	clientOut     = newTypeCounters(framesOut, Client)
	agentOut      = newTypeCounters(framesOut, Agent)
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
		agentIn.inc(typ)
		return
	}
	clientIn.inc(typ)
}

// ClientFrameOut counts a frame written to a client socket, its type read
// from the frame itself (frames start {"type":"…"}).
func ClientFrameOut(frame []byte) { clientOut.incBytes(peekType(frame)) }

// AgentFrameOut counts a frame written to an agent socket.
func AgentFrameOut(frame []byte) { agentOut.incBytes(peekType(frame)) }

// typeCounters are one kind's counters by type, resolved once per type: a
// lookup is a read of an immutable map (copied on the rare first sight of a
// type), so counting allocates nothing and takes no lock.
type typeCounters struct {
	vec    *prometheus.CounterVec
	kind   string
	mu     sync.Mutex
	labels int // distinct type labels made so far; under mu
	m      atomic.Pointer[map[string]prometheus.Counter]
}

func newTypeCounters(vec *prometheus.CounterVec, kind string) *typeCounters {
	t := &typeCounters{vec: vec, kind: kind}
	m := map[string]prometheus.Counter{}
	t.m.Store(&m)
	return t
}

func (t *typeCounters) inc(typ string) {
	if c, ok := (*t.m.Load())[typ]; ok {
		c.Inc()
		return
	}
	t.add(typ).Inc()
}

func (t *typeCounters) incBytes(typ []byte) {
	if c, ok := (*t.m.Load())[string(typ)]; ok { // no allocation: a map index
		c.Inc()
		return
	}
	t.add(string(typ)).Inc()
}

func (t *typeCounters) add(typ string) prometheus.Counter {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.m.Load()
	if c, ok := old[typ]; ok {
		return c
	}
	var c prometheus.Counter
	if typeLike(typ) && t.labels < maxTypes {
		t.labels++
		c = t.vec.WithLabelValues(t.kind, typ)
	} else {
		c = t.vec.WithLabelValues(t.kind, TypeOther)
	}
	if len(old) >= 2*maxTypes {
		return c // a lookup under the lock from now on for such types; the map stays bounded
	}
	m := make(map[string]prometheus.Counter, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[typ] = c
	t.m.Store(&m)
	return c
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
