package agentsdk

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
)

const token = "ari_3f9c0a7e5b1d2c4e6f8091a2b3c4d5e6f708192a3b4c5d6e"

func testConfig(r *stubRelay, h Handler) Config {
	return Config{
		URL: r.url(), Token: token, Handler: h,
		Skills:  []Skill{{Name: "echo", Description: "Repeats what you say"}},
		Backoff: Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// start connects an agent and stops it (waiting) at the end of the test.
func start(t *testing.T, cfg Config) (*Agent, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Connect(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-a.Done():
		case <-time.After(10 * time.Second):
			t.Error("agent did not stop")
		}
	})
	return a, cancel
}

// assemble applies the SDK's chunks as the relay does (protocol.Merge) and
// returns the final text and whether the task ended complete.
func assemble(t *testing.T, frames []protocol.Frame) (string, bool) {
	t.Helper()
	text := ""
	for _, f := range frames {
		switch f := f.(type) {
		case *protocol.AgentChunk:
			var err error
			if _, text, err = protocol.Merge(text, f.Content, f.Mode); err != nil {
				t.Fatalf("merge %q (%s): %v", f.Content, f.Mode, err)
			}
		case *protocol.AgentComplete:
			if f.Content != nil {
				text = *f.Content
			}
			return text, true
		case *protocol.AgentError:
			return text, false
		}
	}
	return text, false
}

func TestStreamsTaskInDeltaMode(t *testing.T) {
	r := newStubRelay(t, token)
	var got *Task
	a, _ := start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		got = task
		for _, w := range []string{"Hello, ", "wörld ", "🙂", ""} {
			if err := s.Write(w); err != nil {
				return err
			}
		}
		return nil // completes
	}))
	if info := a.Info(); info.ID != "ag_echo" || info.Handle != "echo-bot" {
		t.Fatalf("Info = %+v", info)
	}
	c := r.next()
	sk, ok := c.recv().(*protocol.Skills)
	if !ok || len(sk.Skills) != 1 || sk.Skills[0].Name != "echo" {
		t.Fatalf("first frame after auth: %+v", sk)
	}
	c.send(newTask("t_1", "hi"))
	var frames []protocol.Frame
	for i := 0; i < 5; i++ {
		frames = append(frames, c.recv())
	}
	for i, want := range []string{"Hello, ", "wörld ", "🙂", ""} {
		ch, ok := frames[i].(*protocol.AgentChunk)
		if !ok || ch.TaskID != "t_1" || ch.Content != want || ch.Mode != protocol.ModeDelta {
			t.Fatalf("frame %d = %T %+v, want delta %q", i, frames[i], frames[i], want)
		}
	}
	done, ok := frames[4].(*protocol.AgentComplete)
	if !ok || done.TaskID != "t_1" || done.Content != nil {
		t.Fatalf("last frame = %T %+v, want agent_complete without content", frames[4], frames[4])
	}
	if got == nil || got.Message.Content != "hi" || got.Message.Sender.Name != "Ada" {
		t.Fatalf("handler got task %+v", got)
	}
	c.settled(a)
}

func TestSetCompleteWithAndLocalChecks(t *testing.T) {
	r := newStubRelay(t, token)
	errs := make(chan []error, 1)
	a, _ := start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		var e []error
		e = append(e, s.Set("Ich sehe"))
		e = append(e, s.Set("Ich sehe nach"))
		e = append(e, s.Set("Du"))               // does not extend: refused locally
		e = append(e, s.Write("\xff"))           // not UTF-8
		e = append(e, s.CompleteWith("Fertig.")) // replaces the text
		e = append(e, s.Write("late"))
		errs <- e
		return nil
	}))
	c := r.next()
	c.recv() // skills
	c.send(newTask("t_2", "hi"))
	e := within(t, errs, "the handler's results")
	want := []error{nil, nil, ErrNotExtending, ErrInvalidUTF8, nil, ErrTaskEnded}
	for i := range want {
		if !errors.Is(e[i], want[i]) {
			t.Fatalf("call %d: err = %v, want %v", i, e[i], want[i])
		}
	}
	f1, f2, f3 := c.recv().(*protocol.AgentChunk), c.recv().(*protocol.AgentChunk), c.recv().(*protocol.AgentComplete)
	if f1.Mode != protocol.ModeAccumulated || f1.Content != "Ich sehe" || f2.Content != "Ich sehe nach" || f2.Mode != protocol.ModeAccumulated {
		t.Fatalf("chunks %+v %+v", f1, f2)
	}
	if f3.Content == nil || *f3.Content != "Fertig." {
		t.Fatalf("complete %+v", f3)
	}
	c.settled(a)
}

func TestWrongTokenStopsWithoutRetry(t *testing.T) {
	r := newStubRelay(t, "ari_other")
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitFor)
	defer cancel()
	err := Run(ctx, testConfig(r, func(context.Context, *Task, *Stream) error { return nil }))
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Code != protocol.CodeUnauthorized {
		t.Fatalf("Run = %v, want *AuthError unauthorized", err)
	}
	// Run has returned, so no dial can follow: exactly one was made.
	if n := r.dials.Load(); n != 1 {
		t.Fatalf("dialled %d times, want 1", n)
	}
	if _, err := Connect(ctx, testConfig(r, func(context.Context, *Task, *Stream) error { return nil })); !errors.As(err, &ae) {
		t.Fatalf("Connect = %v, want *AuthError", err)
	}
}

func TestTaskCancelCancelsContext(t *testing.T) {
	r := newStubRelay(t, token)
	causes := make(chan error, 1)
	a, _ := start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		if err := s.Write("thinking"); err != nil {
			return err
		}
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return ctx.Err()
	}))
	c := r.next()
	c.recv() // skills
	c.send(newTask("t_3", "hi"))
	c.recv() // the chunk
	c.send(&protocol.TaskCancel{TaskID: "t_3", Reason: protocol.CancelUser})
	var ce *CancelError
	select {
	case err := <-causes:
		if !errors.As(err, &ce) || ce.Reason != protocol.CancelUser {
			t.Fatalf("cause = %v, want CancelError user_cancelled", err)
		}
	case <-time.After(waitFor):
		t.Fatal("handler's context was not cancelled")
	}
	c.settled(a) // the relay ended the task: nothing more is sent
}

func TestNotYourTaskCancelsContext(t *testing.T) {
	r := newStubRelay(t, token)
	causes := make(chan error, 1)
	a, _ := start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return nil
	}))
	c := r.next()
	c.recv()
	c.send(newTask("t_4", "hi"))
	c.send(&protocol.ErrorFrame{Code: protocol.CodeNotYourTask, Message: "task t_4 was not given to this agent", Ref: "t_4"})
	select {
	case err := <-causes:
		if !errors.Is(err, ErrNotYourTask) {
			t.Fatalf("cause = %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("handler's context was not cancelled")
	}
	c.settled(a)
}

// A socket lost mid-task: the SDK reconnects, and the relay's text is
// re-aligned by an accumulated chunk even though the frame in flight at the
// loss may be gone.
func TestReconnectResumesTask(t *testing.T) {
	r := newStubRelay(t, token)
	wrote := make(chan struct{})
	resume := make(chan struct{})
	start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		if err := s.Write("one "); err != nil {
			return err
		}
		close(wrote)
		select {
		case <-resume:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := s.Write("two "); err != nil {
			return err
		}
		return s.Write("three")
	}))
	c1 := r.next()
	c1.recv()
	c1.send(newTask("t_5", "count"))
	within(t, wrote, "the handler's first write")
	first := c1.recv().(*protocol.AgentChunk)
	c1.drop()
	c2 := r.next() // reconnected and authenticated again
	c2.recv()      // skills are declared again
	close(resume)
	frames := []protocol.Frame{first}
	for {
		f := c2.recv()
		frames = append(frames, f)
		if _, ok := f.(*protocol.AgentComplete); ok {
			break
		}
	}
	if ch := frames[1].(*protocol.AgentChunk); ch.Mode != protocol.ModeAccumulated || ch.Content != "one two " {
		t.Fatalf("first chunk after reconnect = %+v, want accumulated \"one two \"", ch)
	}
	if text, ok := assemble(t, frames); !ok || text != "one two three" {
		t.Fatalf("relay text = %q (complete %v)", text, ok)
	}
	// Had the relay lost the first chunk, the accumulated one still fills it in.
	if text, _ := assemble(t, frames[1:]); text != "one two three" {
		t.Fatalf("relay text without the lost chunk = %q", text)
	}
}

// A completion written just before a loss is sent again on the next socket,
// with the text, since the relay may never have read it.
func TestReconnectReplaysRecentCompletion(t *testing.T) {
	r := newStubRelay(t, token)
	start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		return s.Write("done")
	}))
	c1 := r.next()
	c1.recv()
	c1.send(newTask("t_6", "x"))
	c1.recv()
	c1.recv() // complete
	c1.drop()
	c2 := r.next()
	c2.recv()
	f, ok := c2.recv().(*protocol.AgentComplete)
	if !ok || f.TaskID != "t_6" || f.Content == nil || *f.Content != "done" {
		t.Fatalf("replayed = %+v", f)
	}
}

func TestRevokedAndReplacedStop(t *testing.T) {
	for _, tc := range []struct {
		code int
		want error
	}{{protocol.CloseRevoked, ErrRevoked}, {protocol.CloseReplaced, ErrReplaced}} {
		r := newStubRelay(t, token)
		a, _ := start(t, testConfig(r, func(context.Context, *Task, *Stream) error { return nil }))
		c := r.next()
		c.recv()
		closeWith(c.ws, tc.code)
		select {
		case <-a.Done():
		case <-time.After(waitFor):
			t.Fatalf("close %d: agent did not stop", tc.code)
		}
		if err := a.Wait(); !errors.Is(err, tc.want) {
			t.Fatalf("close %d: Wait = %v, want %v", tc.code, err, tc.want)
		}
		if n := r.dials.Load(); n != 1 {
			t.Fatalf("close %d: dialled %d times", tc.code, n)
		}
	}
}

func TestGoingAwayReconnects(t *testing.T) {
	r := newStubRelay(t, token)
	start(t, testConfig(r, func(context.Context, *Task, *Stream) error { return nil }))
	c := r.next()
	c.recv()
	closeWith(c.ws, protocol.CloseGoingAway)
	r.next()
}

// Stopping the agent cancels running handlers, sends what they end with, and
// closes the socket with 1000.
func TestStopFailsRunningTasksAndClosesNormally(t *testing.T) {
	r := newStubRelay(t, token)
	started := make(chan struct{})
	a, cancel := start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		_ = s.Write("partial")
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}))
	c := r.next()
	c.recv()
	c.send(newTask("t_7", "x"))
	within(t, started, "the handler's start")
	cancel()
	if err := a.Wait(); err != nil {
		t.Fatalf("Wait = %v, want nil after a cancelled context", err)
	}
	c.recv() // partial
	fe, ok := c.recv().(*protocol.AgentError)
	if !ok || fe.TaskID != "t_7" || fe.Error != errAgentStopping {
		t.Fatalf("last frame = %+v", fe)
	}
	select {
	case <-c.closed:
		if c.close == nil || c.close.Code != protocol.CloseNormal {
			t.Fatalf("closed with %v, want 1000", c.close)
		}
	case <-time.After(waitFor):
		t.Fatal("socket not closed")
	}
}

func TestHandlerErrorAndPanicFailGenerically(t *testing.T) {
	r := newStubRelay(t, token)
	start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		if task.Message.Content == "panic" {
			panic("boom")
		}
		return errors.New("db password is hunter2")
	}))
	c := r.next()
	c.recv()
	for i, content := range []string{"err", "panic"} {
		c.send(newTask("t_8"+content, content))
		fe, ok := c.recv().(*protocol.AgentError)
		if !ok || fe.Error != errHandlerFailure {
			t.Fatalf("case %d: frame = %+v, want the generic failure", i, fe)
		}
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	s := Backoff{Initial: 100 * time.Millisecond, Max: 400 * time.Millisecond}.withDefaults().start()
	for i, hi := range []time.Duration{100, 200, 400, 400} {
		hi *= time.Millisecond
		d := s.next()
		if d < hi/2 || d > hi {
			t.Fatalf("attempt %d: wait %v outside [%v, %v]", i, d, hi/2, hi)
		}
	}
	s.reset()
	if d := s.next(); d > 100*time.Millisecond {
		t.Fatalf("after reset: %v", d)
	}
	if b := (Backoff{}).withDefaults(); b.Initial != 500*time.Millisecond || b.Max != 30*time.Second {
		t.Fatalf("defaults %+v", b)
	}
}

func TestTruncateKeepsCharacters(t *testing.T) {
	if got := truncate("aé", 2); got != "a" {
		t.Fatalf("truncate = %q", got)
	}
}

// SendStatus sends agent_status; a bad one is refused locally; a status
// sent first on a new socket leaves the next chunk re-aligning the text.
func TestSendStatus(t *testing.T) {
	r := newStubRelay(t, token)
	errs := make(chan []error, 1)
	wrote := make(chan struct{})
	resume := make(chan struct{})
	start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		var e []error
		e = append(e, s.SendStatus(StateThinking, ""))
		e = append(e, s.SendStatus("sleeping", ""))
		e = append(e, s.SendStatus(StateTool, strings.Repeat("x", protocol.MaxStatusLabelBytes+1)))
		e = append(e, s.SendStatus(StateTool, "\xff"))
		e = append(e, s.Write("one "))
		close(wrote)
		select {
		case <-resume:
		case <-ctx.Done():
			return ctx.Err()
		}
		e = append(e, s.SendStatus(StateTool, "Suche in 東京"))
		e = append(e, s.Write("two"))
		errs <- e
		return nil
	}))
	c1 := r.next()
	c1.recv() // skills
	c1.send(newTask("t_9", "hi"))
	within(t, wrote, "the handler's first write")
	st, ok := c1.recv().(*protocol.AgentStatus)
	if !ok || st.TaskID != "t_9" || st.State != protocol.StateThinking || st.Label != "" {
		t.Fatalf("first frame = %+v", st)
	}
	first := c1.recv().(*protocol.AgentChunk)
	c1.drop()
	c2 := r.next()
	c2.recv() // skills
	close(resume)
	e := within(t, errs, "the handler's results")
	want := []error{nil, ErrInvalidStatus, ErrInvalidStatus, ErrInvalidStatus, nil, nil, nil}
	for i := range want {
		if !errors.Is(e[i], want[i]) {
			t.Fatalf("call %d: err = %v, want %v", i, e[i], want[i])
		}
	}
	st, ok = c2.recv().(*protocol.AgentStatus)
	if !ok || st.State != protocol.StateTool || st.Label != "Suche in 東京" {
		t.Fatalf("status after reconnect = %+v", st)
	}
	frames := []protocol.Frame{first}
	for {
		f := c2.recv()
		frames = append(frames, f)
		if _, ok := f.(*protocol.AgentComplete); ok {
			break
		}
	}
	if ch := frames[1].(*protocol.AgentChunk); ch.Mode != protocol.ModeAccumulated || ch.Content != "one two" {
		t.Fatalf("first chunk after reconnect = %+v, want accumulated", ch)
	}
}
