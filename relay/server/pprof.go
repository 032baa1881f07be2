package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// Profiles under load (RELAY_PPROF_ADDR): net/http/pprof on a listener of
// its own, so it is never on the public port. While it is on, blocking
// events of 10 µs and more and one mutex contention in 10 are sampled, so
// /debug/pprof/block and /debug/pprof/mutex have something to show.
const (
	pprofBlockRate     = 10_000 // ns
	pprofMutexFraction = 10
)

// servePprof serves the profiles on addr until ctx ends.
func (s *Server) servePprof(ctx context.Context, addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.d.Log.Error("relay pprof listen", "addr", addr, "err", err)
		return
	}
	runtime.SetBlockProfileRate(pprofBlockRate)
	runtime.SetMutexProfileFraction(pprofMutexFraction)
	defer func() {
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or trace streams for ?seconds=.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.d.Log.Info("relay pprof listening", "addr", ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
		_ = srv.Close() // a profile still streaming ends here
		<-done
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			s.d.Log.Error("relay pprof stopped", "err", err)
		}
	}
}
