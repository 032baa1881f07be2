package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/relayjob"
)

// Functions' requests (shared/relayjob) are taken by every instance's job
// loop from one Redis list, so each is carried out once, by whichever
// instance pops it first.

// jobWait is how long one BLPOP waits: the loop notices its stop signal
// within that.
const jobWait = time.Second

// maxJobs bounds the jobs one instance carries out at once; past it the
// loop takes no more until one ends (the others wait in Redis for another
// instance, or for this one).
const maxJobs = 16

// runJobs takes and carries out jobs until ctx ends, then waits for the
// jobs it started.
func (s *Server) runJobs(ctx context.Context) {
	var running sync.WaitGroup
	defer running.Wait()
	slots := make(chan struct{}, maxJobs)
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		job, err := relayjob.Take(ctx, s.d.Redis, s.d.Keys, jobWait)
		if err != nil {
			<-slots
			if !errors.Is(err, redis.Nil) && ctx.Err() == nil {
				s.d.Log.Error("relay job", "err", err)
				// Redis unreachable: do not spin on it.
				select {
				case <-ctx.Done():
				case <-time.After(jobWait):
				}
			}
			continue
		}
		running.Add(1)
		go func() {
			defer running.Done()
			defer func() { <-slots }()
			// Carried out in full once taken: the function waits for it.
			bg := context.WithoutCancel(ctx)
			if job.Kind == relayjob.KindChannelReplies {
				// A notice: replies were queued in the channel; nobody
				// waits for an answer.
				if ari.ValidID(job.ChannelID) {
					s.engine.AdvanceChannel(bg, job.ChannelID)
				}
				return
			}
			ans := s.clients.Job(bg, job)
			if err := relayjob.Reply(bg, s.d.Redis, s.d.Keys, job, ans); err != nil {
				s.d.Log.Error("relay job answer", "job", job.ID, "kind", job.Kind, "err", err)
			}
		}()
	}
}
