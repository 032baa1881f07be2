// Package relayjob lets a function ask a relay instance to do what only the
// relay may do (start, queue or interrupt replies), and wait for the answer,
// through Redis alone: the function pushes a Job onto kv.Keys.RelayJobs, the
// first relay instance to pop it carries it out exactly as it would the
// matching socket frame, and pushes the Answer onto the job's own answer key.
//
// A job is taken by one instance only (BLPOP). A function that hears nothing
// in time takes its job back (LREM): if it was still there, no relay took it
// and nothing happened; if it was gone, a relay took it and its answer is
// awaited a little longer, and only then is the outcome unknown.
package relayjob

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/kv"
)

// Kinds of job.
const (
	// KindRegenerate is the REST form of the client frame regenerate
	// (PROTOCOL.md section 10).
	KindRegenerate = "regenerate"
	// KindChannelReplies tells a relay instance that replies were queued in
	// ChannelID's queue (kv.Keys.ChannelQueue): it starts the head if no
	// reply is active there. Sent with Notify: nobody waits for an answer.
	KindChannelReplies = "channel_replies"
)

// Job is one request from a function to the relay, on behalf of a signed-in
// user (whose session the relay checks as it would a socket's).
type Job struct {
	ID             string `json:"id"`
	Kind           string `json:"kind"`
	UserID         string `json:"userId"`
	SessionID      string `json:"sessionId"`
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	AgentID        string `json:"agentId,omitempty"`
	ChannelID      string `json:"channelId,omitempty"`
}

// Answer is a relay's answer to a job: Result (the job kind's answer, JSON)
// or Error.
type Answer struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Refusal        `json:"error,omitempty"`
}

// Refusal is a job refused with one of the socket protocol's error codes
// (not_found, forbidden, conversation_busy, rate_limited, unauthorized for
// a session that has ended, internal).
type Refusal struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
}

// Regenerated is the Result of a regenerate: the regenerate_ack's keys.
type Regenerated struct {
	ConversationID string     `json:"conversationId"`
	MessageID      string     `json:"messageId"`
	ReplyToID      string     `json:"replyToId"`
	Reply          ReplyEntry `json:"reply"`
	Version        int        `json:"version"`
	PreviousID     string     `json:"previousId"`
	Queued         bool       `json:"queued"`
}

// ReplyEntry names a reply before its stream_start, as message_ack's
// replies do.
type ReplyEntry struct {
	MessageID string `json:"messageId"`
	AgentID   string `json:"agentId"`
	Position  int    `json:"position,omitempty"`
}

// Errors of Submit.
var (
	// ErrNotTaken: no relay instance took the job in time; it was taken
	// back, so nothing happened.
	ErrNotTaken = errors.New("relayjob: no relay instance took the job")
	// ErrNoAnswer: a relay instance took the job but did not answer in
	// time; whether it was carried out is unknown.
	ErrNoAnswer = errors.New("relayjob: the relay did not answer")
)

// Default waits of Submit.
const (
	DefaultTakeWait   = 5 * time.Second
	DefaultAnswerWait = 10 * time.Second
	// AnswerTTL keeps an answer no one waits for any more from lingering.
	AnswerTTL = time.Minute
)

// Client submits jobs.
type Client struct {
	Redis redis.UniversalClient
	Keys  kv.Keys
	// TakeWait is how long a job may wait for a relay instance to take it
	// (DefaultTakeWait when 0); AnswerWait how much longer an answer to a
	// taken job is awaited (DefaultAnswerWait when 0).
	TakeWait, AnswerWait time.Duration
}

// Submit hands job to the relay and waits for its answer. It fills job.ID.
func (c *Client) Submit(ctx context.Context, job Job) (Answer, error) {
	job.ID = rand.Text()
	raw, err := json.Marshal(job)
	if err != nil {
		return Answer{}, err
	}
	take, more := c.TakeWait, c.AnswerWait
	if take <= 0 {
		take = DefaultTakeWait
	}
	if more <= 0 {
		more = DefaultAnswerWait
	}
	if err := c.Redis.RPush(ctx, c.Keys.RelayJobs(), raw).Err(); err != nil {
		return Answer{}, fmt.Errorf("relayjob: submit: %w", err)
	}
	ans, err := c.await(ctx, job.ID, take)
	if !errors.Is(err, redis.Nil) {
		return ans, err
	}
	// Nothing in time: take the job back, unless a relay has it.
	n, err := c.Redis.LRem(context.WithoutCancel(ctx), c.Keys.RelayJobs(), 1, raw).Result()
	if err != nil {
		return Answer{}, fmt.Errorf("relayjob: take back: %w", err)
	}
	if n == 1 {
		return Answer{}, ErrNotTaken
	}
	ans, err = c.await(ctx, job.ID, more)
	if errors.Is(err, redis.Nil) {
		return Answer{}, ErrNoAnswer
	}
	return ans, err
}

func (c *Client) await(ctx context.Context, id string, wait time.Duration) (Answer, error) {
	res, err := c.Redis.BLPop(ctx, wait, c.Keys.RelayJobAnswer(id)).Result()
	if err != nil {
		return Answer{}, err
	}
	var ans Answer
	if err := json.Unmarshal([]byte(res[1]), &ans); err != nil {
		return Answer{}, fmt.Errorf("relayjob: answer: %w", err)
	}
	return ans, nil
}

// Notify hands job to the relay without waiting: for a job whose outcome
// the caller does not need (a relay instance that takes it answers no one).
// It fills job.ID.
func Notify(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, job Job) error {
	job.ID = rand.Text()
	raw, err := json.Marshal(job)
	if err != nil {
		return err
	}
	if err := rdb.RPush(ctx, keys.RelayJobs(), raw).Err(); err != nil {
		return fmt.Errorf("relayjob: notify: %w", err)
	}
	return nil
}

// QueueChannelReplies appends replies a channel message started to the
// channel's queue, in order, and tells a relay instance to start the head
// if nothing is active there (KindChannelReplies). The replies are in
// Postgres already: if this fails half-way, the relay's sweeper queues and
// starts what was missed.
func (c *Client) QueueChannelReplies(ctx context.Context, channelID string, replyIDs []string) error {
	if len(replyIDs) == 0 {
		return nil
	}
	ids := make([]any, len(replyIDs))
	for i, id := range replyIDs {
		ids[i] = id
	}
	if err := c.Redis.RPush(ctx, c.Keys.ChannelQueue(channelID), ids...).Err(); err != nil {
		return fmt.Errorf("relayjob: queue channel replies: %w", err)
	}
	return Notify(ctx, c.Redis, c.Keys, Job{Kind: KindChannelReplies, ChannelID: channelID})
}

// Deployment names the relay deployment (its REDIS_PREFIX) that takes this
// client's jobs: replies stored for it are swept by its instances.
func (c *Client) Deployment() string { return c.Keys.Prefix }

// Take waits up to wait for the next job (redis.Nil when none came). A
// payload that is not a job is dropped and reported as an error.
func Take(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, wait time.Duration) (Job, error) {
	res, err := rdb.BLPop(ctx, wait, keys.RelayJobs()).Result()
	if err != nil {
		return Job{}, err
	}
	var job Job
	if err := json.Unmarshal([]byte(res[1]), &job); err != nil || job.ID == "" {
		return Job{}, fmt.Errorf("relayjob: not a job: %q", res[1])
	}
	return job, nil
}

// Reply gives the answer to job.
func Reply(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, job Job, ans Answer) error {
	raw, err := json.Marshal(ans)
	if err != nil {
		return err
	}
	key := keys.RelayJobAnswer(job.ID)
	pipe := rdb.TxPipeline()
	pipe.RPush(ctx, key, raw)
	pipe.Expire(ctx, key, AnswerTTL)
	_, err = pipe.Exec(ctx)
	return err
}
