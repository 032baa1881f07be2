// Package server is the relay's HTTP side and lifecycle: /ws (clients,
// authenticated on the upgrade, or by a socket ticket in their first frame), /ws/agent (agents, authenticated by their
// first frame), /health, and the background loops (Redis receive, sweeper,
// heartbeats, functions' jobs). Run serves until its context ends, then shuts down in order.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/a2a"
	"github.com/ari-chat/ari-server/relay/agent"
	"github.com/ari-chat/ari-server/relay/client"
	"github.com/ari-chat/ari-server/relay/conn"
	"github.com/ari-chat/ari-server/relay/dispatch"
	"github.com/ari-chat/ari-server/relay/hub"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/relay/stream"
	"github.com/ari-chat/ari-server/shared/agentpost"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/health"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/inputs"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/netguard"
	"github.com/ari-chat/ari-server/shared/ops"
	"github.com/ari-chat/ari-server/shared/pushtrigger"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
)

// Deps are the process-wide clients the relay runs on.
type Deps struct {
	Config     config.Config
	DB         *store.DB
	Redis      redis.UniversalClient
	Keys       kv.Keys
	Log        *slog.Logger
	InstanceID string
	Health     health.Deps
	// Push runs push notifications off the relay's paths
	// (pushtrigger.AsyncNotifier); a nil interface: none.
	Push Push
	// Files makes attachment links for tasks (storage.Store); nil: stored links.
	Files storage.Store
}

// Push is what the relay tells push notifications; calls never block.
type Push interface {
	Reply(reply ari.Message) bool
	UserMessage(m ari.Message, senderName string) bool
	AgentMessage(m ari.Message, agentName string) bool
	InputRequest(r ari.InputRequest) bool
	ChannelMention(m pushtrigger.ChannelMention) bool
}

// Server is one relay instance.
type Server struct {
	d       Deps
	hub     *hub.Hub
	engine  *stream.Engine
	router  *dispatch.Router
	clients *client.Sessions
	agents  *agent.Sessions
	auth    *auth.Authenticator
	origins auth.Origins
	// Client sockets are many and mostly idle: a small read buffer of their
	// own (larger frames are still read whole, through it) and write buffers
	// borrowed from a pool only while a frame is written. Agent sockets are
	// few and busy: a larger read buffer takes many chunks per read.
	clientUp, agentUp websocket.Upgrader

	// sockets counts running socket handlers; ctx is what they run under.
	sockets  sync.WaitGroup
	mu       sync.Mutex
	stopping bool
	ctx      context.Context
	cancel   context.CancelFunc
	// drain is closed when an operator asks this instance to drain
	// (shared/ops.Drain): Run then shuts down as on SIGTERM.
	drain     chan struct{}
	drainOnce sync.Once
}

// New builds an instance; nothing runs until Run.
func New(d Deps) *Server {
	c := d.Config
	s := &Server{d: d, hub: hub.New(d.Redis, d.Log, d.InstanceID), drain: make(chan struct{})}
	s.router = dispatch.New(dispatch.Deps{Sockets: agent.TaskPublisher{Hub: s.hub, Keys: d.Keys},
		A2A: a2a.New(a2a.Options{HTTPClient: a2aClient(c.A2AAllowPrivateNetworks), IdleTimeout: a2aBackstop(&c)}),
		DB:  d.DB, Redis: d.Redis, Keys: d.Keys, Log: d.Log})
	s.engine = stream.New(stream.Deps{DB: d.DB, Redis: d.Redis, Keys: d.Keys, Hub: s.hub,
		Transport: s.router, Log: d.Log, InstanceID: d.InstanceID,
		ActiveTTL: c.RelayActiveTTL, ChunkLinger: c.RelayChunkLinger, FirstChunkTimeout: c.AgentFirstChunkTimeout, IdleTimeout: c.AgentIdleTimeout,
		InputTTL: c.InputRequestTTL, Push: d.Push, Files: files(d.Files)})
	s.clients = client.New(client.Deps{DB: d.DB, Redis: d.Redis, Keys: d.Keys, Hub: s.hub, Engine: s.engine,
		Log: d.Log, InstanceID: d.InstanceID, Push: d.Push, Events: events.NewPublisher(d.Redis, d.Keys), Files: d.Files,
		Limiter: ratelimit.New(d.Redis, d.Keys), SendRule: sendRule(c),
		AppEventRule: ratelimit.AppEvents(c.RateLimitAppEvents, c.RateLimitAppEventsBurst), MaxSockets: c.RelayMaxSocketsPerUser,
		MaxChannels: c.RelayMaxChannelsPerSocket,
		Tickets:     auth.Tickets{Redis: d.Redis, Keys: d.Keys}, AuthTimeout: c.RelayAgentAuthTimeout,
		Inputs: &inputs.Answerer{DB: d.DB, Events: events.NewPublisher(d.Redis, d.Keys), Log: d.Log}})
	s.agents = agent.New(agent.Deps{DB: d.DB, Redis: d.Redis, Keys: d.Keys, Hub: s.hub, Engine: s.engine,
		Log: d.Log, InstanceID: d.InstanceID, AuthTimeout: c.RelayAgentAuthTimeout, PresenceTTL: kv.PresenceTTL, ToolTimeout: c.AppToolTimeout,
		Poster: &agentpost.Poster{DB: d.DB, Events: events.NewPublisher(d.Redis, d.Keys), Limiter: ratelimit.New(d.Redis, d.Keys),
			Rule: agentpost.Rule(c), Push: d.Push, Log: d.Log}})
	s.auth = &auth.Authenticator{DB: d.DB, Secret: c.AuthSecret, Cookies: auth.NewCookies(c.BaseURL),
		Policy: auth.SessionPolicy{ExpiresIn: c.SessionExpiresIn, UpdateAge: c.SessionUpdateAge}}
	// The same trusted origins (wildcards included) as the REST side's CORS
	// and origin checks.
	s.origins = auth.NewOrigins(c.BaseURL, c.TrustedOrigins)
	writeBuffers := &sync.Pool{}
	s.clientUp = websocket.Upgrader{
		Subprotocols: []string{protocol.Version},
		// Origin is checked before the upgrade, in originAllowed.
		CheckOrigin:     func(*http.Request) bool { return true },
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		WriteBufferPool: writeBuffers,
	}
	s.agentUp = s.clientUp
	s.agentUp.ReadBufferSize = 8192
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// sendRule is the per-user limit on send_message frames:
// RATE_LIMIT_SEND_PER_MINUTE, with bursts up to RATE_LIMIT_SEND_BURST.
func sendRule(c config.Config) ratelimit.Rule {
	return ratelimit.Send(c.RateLimitSend, c.RateLimitSendBurst)
}

// Handler routes the relay's endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+protocol.ClientPath, s.serveClient)
	mux.HandleFunc("GET "+protocol.AgentPath, s.serveAgent)
	r := httpx.NewRouter()
	r.HandleFunc("GET /health", health.Handler(s.d.Health))
	mux.Handle("/health", r)
	if h, ok := metrics.Endpoint(s.d.Config); ok {
		mux.Handle("GET "+metrics.Path, h)
	}
	return mux
}

// originAllowed: a browser's cross-site request carries an Origin, which must
// be ours; a request without one is not from a browser page, so no ambient
// cookie rides on it uninvited, and it is allowed (it still needs a session).
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	return s.origins.Trusted(o)
}

func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.sockets.Add(1)
	return true
}

func (s *Server) serveClient(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		httpx.WriteError(w, r, &ari.Error{Code: ari.CodeForbidden, Message: "origin not allowed"})
		return
	}
	caller, err := s.auth.Authenticate(r)
	// A browser page (it sends an Origin, trusted by now) without a
	// session, such as a web app on another site whose SameSite=Lax
	// cookie the browser keeps, may authenticate with a socket ticket in
	// its first frame instead. Anything else without a session gets 401.
	ticket := errors.Is(err, auth.ErrNoSession) && r.Header.Get("Origin") != ""
	if err != nil && !ticket {
		httpx.WriteError(w, r, err)
		return
	}
	if !s.begin() {
		httpx.WriteError(w, r, &ari.Error{Code: ari.CodeUnavailable, Message: "relay shutting down"})
		return
	}
	ws, err := s.clientUp.Upgrade(hijacker(w), r, nil)
	if err != nil {
		s.sockets.Done()
		return // the upgrader has answered
	}
	// The socket runs on a goroutine of its own and this handler returns, so
	// the HTTP server's goroutine (with its deep stack) and read buffer go.
	opts := s.connOptions(protocol.MaxClientFrameBytes)
	opts.Written = func(frame []byte) {
		metrics.ClientFrameOut(frame)
		s.engine.Written(frame)
	}
	// A reply's chunk frames still waiting for a slow socket are joined.
	opts.Join = protocol.JoinChunkFrames
	opts.Joined = s.engine.Written
	c := conn.New(ws, opts)
	go func() {
		defer s.sockets.Done()
		metrics.SocketOpened(metrics.Client)
		defer metrics.SocketClosed(metrics.Client)
		defer s.recoverSocket(c)
		if ticket {
			s.clients.ServeTicket(s.ctx, c)
			return
		}
		s.clients.Serve(s.ctx, c, caller)
	}()
}

// recoverSocket keeps a panic in one socket's handling from taking the relay
// down (the HTTP handler's recovery no longer covers the socket, which runs
// after the handler returned): it is logged and the socket closed with 1011.
func (s *Server) recoverSocket(c *conn.Conn) {
	if p := recover(); p != nil {
		s.d.Log.Error("relay socket panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		c.Close(protocol.CloseInternal)
	}
}

func (s *Server) serveAgent(w http.ResponseWriter, r *http.Request) {
	if !s.begin() {
		httpx.WriteError(w, r, &ari.Error{Code: ari.CodeUnavailable, Message: "relay shutting down"})
		return
	}
	ws, err := s.agentUp.Upgrade(hijacker(w), r, nil)
	if err != nil {
		s.sockets.Done()
		return
	}
	opts := s.connOptions(protocol.MaxAgentFrameBytes)
	opts.Written = metrics.AgentFrameOut
	c := conn.New(ws, opts)
	go func() {
		defer s.sockets.Done()
		metrics.SocketOpened(metrics.Agent)
		defer metrics.SocketClosed(metrics.Agent)
		defer s.recoverSocket(c)
		s.agents.Serve(s.ctx, c)
	}()
}

func (s *Server) connOptions(limit int64) conn.Options {
	return conn.Options{ReadLimit: limit, IdleTimeout: s.d.Config.RelayIdleTimeout,
		PingInterval: s.d.Config.RelayPingInterval, QueueSize: s.d.Config.RelaySendQueue}
}

// hijacker digs through middleware wrappers (which expose Unwrap) to the
// writer that can hand over the connection.
func hijacker(w http.ResponseWriter) http.ResponseWriter {
	for {
		if _, ok := w.(http.Hijacker); ok {
			return w
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// Run serves on ln until ctx ends, then: stops accepting, closes every socket
// with 1001, leaves the replies its agent sockets drove to the instances the
// agents reconnect to (or to the sweeper, once their active marks expire),
// ends its A2A runs as interrupted, and returns when everything it started
// has stopped or grace has passed.
func (s *Server) Run(ctx context.Context, ln net.Listener, handler http.Handler) error {
	var loops sync.WaitGroup
	loops.Add(3)
	go func() {
		defer loops.Done()
		if err := s.hub.Run(s.ctx); err != nil {
			s.d.Log.Error("relay hub stopped", "err", err)
		}
	}()
	go func() {
		defer loops.Done()
		s.background(s.ctx)
	}()
	go func() {
		defer loops.Done()
		s.engine.RunMembership(s.ctx)
	}()
	if addr := s.d.Config.RelayPprofAddr; addr != "" {
		loops.Add(1)
		go func() {
			defer loops.Done()
			s.servePprof(s.ctx, addr)
		}()
	}
	// Before serving: a member removed while this instance streams to them
	// must be heard of (stream/members.go). Without it the heartbeat still
	// applies removals, only later.
	if err := s.hub.Subscribe(s.ctx, s.d.Keys.MembershipChannel(), 0, func(p []byte) {
		if p == nil {
			return // notices lost: the heartbeat re-reads the members anyway
		}
		s.engine.MembersChanged(string(p))
	}); err != nil {
		s.d.Log.Error("relay membership subscribe", "err", err)
	}
	if err := s.hub.Subscribe(s.ctx, s.d.Keys.RelayControl(s.d.InstanceID), 0, func(p []byte) {
		if string(p) == ops.DrainMessage {
			s.drainOnce.Do(func() { close(s.drain) })
		}
	}); err != nil {
		s.d.Log.Error("relay control subscribe", "err", err)
	}
	// Functions' jobs (shared/relayjob) are taken until shutdown begins.
	jobsCtx, stopJobs := context.WithCancel(s.ctx)
	defer stopJobs()
	loops.Add(1)
	go func() {
		defer loops.Done()
		s.runJobs(jobsCtx)
	}()
	srv := httpx.NewServer(handler)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	why := "signal"
	select {
	case err = <-errc:
		why = "listener"
	case <-ctx.Done():
	case <-s.drain:
		why = "drain"
	}
	s.d.Log.Info("relay shutting down", "instance", s.d.InstanceID, "reason", why)
	grace := s.d.Config.ShutdownGrace
	deadline, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	stopJobs()
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(deadline) }()
	s.engine.StopDriving()
	s.clients.CloseAll(protocol.CloseGoingAway)
	s.agents.CloseAll(protocol.CloseGoingAway)
	s.router.Stop() // A2A runs cannot move: their replies end interrupted
	done := make(chan struct{})
	go func() { s.sockets.Wait(); close(done) }()
	select {
	case <-done:
	case <-deadline.Done():
		s.d.Log.Warn("relay sockets still open at the shutdown deadline")
	}
	s.cancel()
	loops.Wait()
	if serr := <-shutdownErr; serr != nil && err == nil {
		err = serr
	}
	if serr := <-errc; err == nil && serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = serr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// background runs the sweeper and the heartbeats until ctx ends.
func (s *Server) background(ctx context.Context) {
	c := s.d.Config
	sweep := time.NewTicker(c.RelaySweepInterval)
	defer sweep.Stop()
	beat := time.NewTicker(min(c.RelayActiveTTL, kv.PresenceTTL) / 3)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			if err := s.engine.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.d.Log.Error("relay sweep", "err", err)
			}
		case <-beat.C:
			s.engine.Heartbeat(ctx)
			s.clients.Heartbeat(ctx)
			s.agents.Heartbeat(ctx)
		}
	}
}

// files keeps a nil Store a nil interface, so the engine falls back to stored links.
func files(st storage.Store) interface {
	URL(ctx context.Context, key string) (string, time.Time, error)
} {
	if st == nil {
		return nil
	}
	return st
}

// a2aClient calls agents' A2A endpoints, which their owners choose: unless
// private networks are allowed, only public addresses are dialled (checked on
// the address actually dialled, so DNS tricks and redirects are covered).
// Nothing here bounds the wait for an answer: replies stream, and SDK 1.3
// servers send no headers before the agent's first event, so how long an
// agent may think is RELAY_AGENT_FIRST_CHUNK_TIMEOUT's to say, through the
// sweeper, exactly as for socket agents.
func a2aClient(allowPrivate bool) *http.Client {
	dial := netguard.Dialer(false).DialContext
	var proxy func(*http.Request) (*url.URL, error) // none: the guard checks what is dialled
	if allowPrivate {
		dial = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		proxy = http.ProxyFromEnvironment
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:               proxy,
		DialContext:         dial,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// a2aBackstop is the A2A client's own limit on silence between bytes. The
// sweeper ends a silent A2A reply first (agent_timeout, after the same
// first-chunk and idle timeouts as a socket agent's); this only stops a call
// the sweeper cannot end, e.g. while Redis is unreachable.
func a2aBackstop(c *config.Config) time.Duration {
	return max(c.AgentFirstChunkTimeout, c.AgentIdleTimeout) + 2*c.RelaySweepInterval + 10*time.Second
}
