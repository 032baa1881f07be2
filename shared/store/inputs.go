package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Input requests (relay/PROTOCOL.md section 9, agent_input_request): an agent
// asks the people of a conversation a question or for an approval while it
// writes a reply, and the reply waits (status waiting_input) until the
// request is settled — answered (the first valid answer wins, decided here by
// a guarded UPDATE), expired, or cancelled with its reply — and that reaches
// the agent (delivered_at). Everything that decides lives in these
// statements, so relay instances and functions may race freely.

// NewInputRequest is what an agent asks while writing the reply ReplyID.
type NewInputRequest struct {
	ID      string // the agent's requestId
	ReplyID string
	AgentID string
	Kind    string // ari.InputQuestion or ari.InputApproval
	Prompt  string
	Options []string
	Schema  json.RawMessage // a JSON object, or nil
	TTL     time.Duration   // how long it stays open
	// ChannelID is the channel of ReplyID for a reply in a community
	// channel (a channel_replies row); "" for a conversation's reply.
	ChannelID string
	// A2A names the A2A task that asked, for a reply of an agent without a
	// socket (its answer goes back into that task); nil for a socket agent.
	A2A *A2ATask
}

// A2ATask is where an A2A agent's question came from, and its answer goes:
// the agent's task and context, the dialect the task was started in, and
// the endpoint it was reached at.
type A2ATask struct {
	TaskID, ContextID, Dialect, Endpoint string
}

// Errors of input requests besides ErrNotFound.
var (
	// ErrInputPending: the reply already waits for the answer to another
	// request; nothing was stored.
	ErrInputPending = errors.New("store: the reply already waits for another answer")
	// ErrRequestIDInUse: the requestId names a request of another reply.
	ErrRequestIDInUse = errors.New("store: requestId already used for another request")
)

// InputClosed refuses an answer to a request that no longer takes one: it
// was answered (the first answer won), expired, or its reply ended.
type InputClosed struct {
	State string // ari.InputAnswered, InputExpired or InputCancelled
}

func (e *InputClosed) Error() string { return "store: the input request is " + e.State }

// InvalidAnswer refuses an answer that does not fit its request; Field is
// answer or approved.
type InvalidAnswer struct {
	Field, Problem string
}

func (e *InvalidAnswer) Error() string { return "store: " + e.Field + ": " + e.Problem }

const inputColumns = `r.id, coalesce(r.message_id, r.channel_reply_id), coalesce(r.conversation_id, ''), coalesce(r.channel_id, ''),
	coalesce(r.channel_reply_id, ''), r.agent_id, r.kind, r.prompt, r.options, r.schema,
	r.state, r.answer, r.approved, r.answered_by, r.answered_at, r.expires_at, r.resolved_at, r.delivered_at, r.created_at,
	coalesce(r.a2a_task_id, ''), coalesce(r.a2a_context_id, ''), coalesce(r.a2a_dialect, ''), coalesce(r.a2a_endpoint, '')`

// replyOf joins a request's reply, in whichever table it is (messages for
// a conversation's, channel_replies for a channel's); replyWaiting says it
// waits for an answer, and replyDeployment ($1) that it is the deployment's.
const (
	replyOf         = ` left join messages m on m.id = r.message_id left join channel_replies cr on cr.id = r.channel_reply_id `
	replyWaiting    = ` coalesce(m.status, cr.status) = 'waiting_input' `
	replyDeployment = ` coalesce(m.relay_deployment, cr.relay_deployment, $1) = $1 `
)

func scanInput(row pgx.Row) (ari.InputRequest, error) {
	var r ari.InputRequest
	var options, schema []byte
	var answeredAt, resolvedAt, deliveredAt *time.Time
	err := row.Scan(&r.ID, &r.MessageID, &r.ConversationID, &r.ChannelID, &r.ChannelReplyID, &r.AgentID, &r.Kind, &r.Prompt, &options, &schema,
		&r.State, &r.Answer, &r.Approved, &r.AnsweredBy, &answeredAt, &r.ExpiresAt, &resolvedAt, &deliveredAt, &r.CreatedAt,
		&r.A2ATaskID, &r.A2AContextID, &r.A2ADialect, &r.A2AEndpoint)
	if err != nil {
		return r, err
	}
	if len(options) > 0 {
		if err := json.Unmarshal(options, &r.Options); err != nil {
			return r, fmt.Errorf("store: input request options: %w", err)
		}
	}
	if len(schema) > 0 {
		r.Schema = json.RawMessage(schema)
	}
	r.AnsweredAt, r.ResolvedAt, r.DeliveredAt = optTime(answeredAt), optTime(resolvedAt), optTime(deliveredAt)
	return r, nil
}

func collectInputs(rows pgx.Rows, err error) ([]ari.InputRequest, error) {
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.InputRequest, error) { return scanInput(r) })
	if out == nil {
		out = []ari.InputRequest{}
	}
	return out, err
}

// OpenInputRequest stores an agent's request and makes its reply wait. The
// reply must be the agent's and streaming (or already waiting for this very
// request: a retry answers the stored request with created false, whatever
// state it has reached). ErrNotFound: the reply has ended or is not the
// agent's; ErrInputPending: it waits for another request; ErrRequestIDInUse:
// the id names another reply's request.
func (db *DB) OpenInputRequest(ctx context.Context, in NewInputRequest) (req ari.InputRequest, created bool, err error) {
	var options []byte
	if in.Options != nil {
		if options, err = json.Marshal(in.Options); err != nil {
			return req, false, err
		}
	}
	var schema []byte
	if len(in.Schema) > 0 {
		schema = in.Schema
	}
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		// place: the reply's conversation, or its channel.
		var place, status string
		var err error
		if in.ChannelID != "" {
			err = tx.QueryRow(ctx, `select channel_id, status from channel_replies
				where id = $1 and agent_id = $2 and channel_id = $3 for update`, in.ReplyID, in.AgentID, in.ChannelID).Scan(&place, &status)
		} else {
			err = tx.QueryRow(ctx, `select conversation_id, status from messages
				where id = $1 and sender_agent_id = $2 and role = 'agent' for update`, in.ReplyID, in.AgentID).Scan(&place, &status)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		prior, err := scanInput(tx.QueryRow(ctx, `select `+inputColumns+` from input_requests r where r.id = $1`, in.ID))
		switch {
		case err == nil && prior.MessageID == in.ReplyID:
			req = prior
			return nil
		case err == nil:
			return ErrRequestIDInUse
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if status != ari.StatusStreaming && status != ari.StatusWaitingInput {
			return ErrNotFound
		}
		var a2a [4]*string // the columns are all null or all set
		if r := in.A2A; r != nil {
			a2a = [4]*string{&r.TaskID, &r.ContextID, &r.Dialect, &r.Endpoint}
		}
		// A conversation's reply or a channel's: the other pair stays null.
		var msg, conv, chReply, channel *string
		if in.ChannelID != "" {
			chReply, channel = &in.ReplyID, &place
		} else {
			msg, conv = &in.ReplyID, &place
		}
		req, err = scanInput(tx.QueryRow(ctx, `insert into input_requests as r
			(id, message_id, conversation_id, channel_reply_id, channel_id, agent_id, kind, prompt, options, schema, expires_at,
			 a2a_task_id, a2a_context_id, a2a_dialect, a2a_endpoint)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + make_interval(secs => $11), $12, $13, $14, $15)
			returning `+inputColumns, in.ID, msg, conv, chReply, channel, in.AgentID, in.Kind, in.Prompt, options, schema,
			in.TTL.Seconds(), a2a[0], a2a[1], a2a[2], a2a[3]))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			if pe.ConstraintName == "input_requests_pkey" {
				return ErrRequestIDInUse // another reply took it meanwhile
			}
			return ErrInputPending
		}
		if err != nil {
			return err
		}
		created = true
		if in.ChannelID != "" {
			_, err = tx.Exec(ctx, `update channel_replies set status = 'waiting_input' where id = $1`, in.ReplyID)
			return err
		}
		_, err = tx.Exec(ctx, `update messages set status = 'waiting_input', updated_at = now() where id = $1`, in.ReplyID)
		return err
	})
	return req, created, err
}

// AnswerInputRequest records userID's answer to request id: the first valid
// answer wins. ErrNotFound: no such request in a conversation the user is a
// member of, or in a channel of a community the user may read (a member, not
// banned); *InputClosed: it no longer takes answers (answered, expired —
// also when its deadline passed and the sweeper has not marked it yet — or
// its reply ended); *InvalidAnswer: the answer does not fit the request (an
// approval needs approved; a question an answer, one of its options when it
// has some, JSON when it has a schema). Bounds and text rules are the
// caller's (the frame decoder, the REST decoder).
func (db *DB) AnswerInputRequest(ctx context.Context, userID, id string, answer *string, approved *bool) (ari.InputRequest, error) {
	var out ari.InputRequest
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		req, err := scanInput(tx.QueryRow(ctx, `select `+inputColumns+` from input_requests r
			where r.id = $1 and (r.channel_id is not null or exists (select 1 from conversation_members cm
				where cm.conversation_id = r.conversation_id and cm.user_id = $2)) for update of r`, id, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if req.ChannelID != "" {
			if _, err := channelAccess(ctx, tx, userID, req.ChannelID, false); err != nil {
				if errors.Is(err, ErrNotMember) || errors.Is(err, ErrBanned) {
					return ErrNotFound
				}
				return err
			}
		}
		if req.State != ari.InputOpen {
			return &InputClosed{State: req.State}
		}
		var expired, waiting bool
		if err := tx.QueryRow(ctx, `select r.expires_at <= now(), coalesce(`+replyWaiting+`, false)
			from input_requests r `+replyOf+` where r.id = $1`, id).Scan(&expired, &waiting); err != nil {
			return err
		}
		if expired {
			return &InputClosed{State: ari.InputExpired}
		}
		if !waiting { // its reply ended (and the request with it, or it is about to)
			return &InputClosed{State: ari.InputCancelled}
		}
		if bad := checkAnswer(req, answer, approved); bad != nil {
			return bad
		}
		if req.Kind == ari.InputQuestion {
			approved = nil
		}
		out, err = scanInput(tx.QueryRow(ctx, `update input_requests r set state = 'answered', answer = $2, approved = $3,
			answered_by = $4, answered_at = now(), resolved_at = now()
			where r.id = $1 and r.state = 'open' returning `+inputColumns, id, answer, approved, userID))
		return err
	})
	return out, err
}

// checkAnswer applies the request's own rules to an answer.
func checkAnswer(req ari.InputRequest, answer *string, approved *bool) *InvalidAnswer {
	if req.Kind == ari.InputApproval {
		if approved == nil {
			return &InvalidAnswer{Field: "approved", Problem: "is required to answer an approval"}
		}
		return nil
	}
	if answer == nil || *answer == "" {
		return &InvalidAnswer{Field: "answer", Problem: "is required to answer a question"}
	}
	if len(req.Options) > 0 && !slices.Contains(req.Options, *answer) {
		return &InvalidAnswer{Field: "answer", Problem: "must be one of the request's options"}
	}
	if len(req.Schema) > 0 && !json.Valid([]byte(*answer)) {
		return &InvalidAnswer{Field: "answer", Problem: "must be JSON (the request has a schema)"}
	}
	return nil
}

// ExpireInputRequests marks the deployment's open requests whose deadline
// has passed as expired and returns them; each is returned by exactly one
// caller, however many instances sweep at once.
func (db *DB) ExpireInputRequests(ctx context.Context, deployment string) ([]ari.InputRequest, error) {
	return collectInputs(db.Pool.Query(ctx, `update input_requests r set state = 'expired', resolved_at = now()
		where r.state = 'open' and r.expires_at <= now() and r.id in (select r.id from input_requests r `+replyOf+`
			where r.state = 'open' and r.expires_at <= now() and `+replyWaiting+` and `+replyDeployment+`)
		returning `+inputColumns, deployment))
}

// UndeliveredInputs lists the agent's settled requests (answered or
// expired) that have not reached it while their replies still wait, oldest
// first: what a socket of the agent is given when it authenticates. An A2A
// task's requests are not a socket's (A2AUnsent).
func (db *DB) UndeliveredInputs(ctx context.Context, agentID string) ([]ari.InputRequest, error) {
	return collectInputs(db.Pool.Query(ctx, `select `+inputColumns+` from input_requests r `+replyOf+`
		where r.agent_id = $1 and r.state in ('answered', 'expired') and r.delivered_at is null
		and r.a2a_task_id is null and `+replyWaiting+`
		order by r.resolved_at, r.id`, agentID))
}

// RecentlyDeliveredInputs lists, among the given replies that still stream,
// the settled requests whose answer (or expiry) was recorded as delivered
// within age and after which the reply asked nothing, oldest delivery first.
// The socket such an answer was handed to may have died before the agent
// read it (an instance killed with frames in its socket's buffers loses
// them), so the agent's next socket may have to get it again (relay/agent).
func (db *DB) RecentlyDeliveredInputs(ctx context.Context, replyIDs []string, age time.Duration) ([]ari.InputRequest, error) {
	if len(replyIDs) == 0 {
		return nil, nil
	}
	return collectInputs(db.Pool.Query(ctx, `select `+inputColumns+` from input_requests r `+replyOf+`
		where (r.message_id = any($1) or r.channel_reply_id = any($1))
		and r.state in ('answered', 'expired') and r.a2a_task_id is null
		and r.delivered_at > now() - make_interval(secs => $2)
		and coalesce(m.status, cr.status) = 'streaming'
		and not exists (select 1 from input_requests n where n.message_id = r.message_id
			and n.id <> r.id and n.created_at >= r.created_at)
		and not exists (select 1 from input_requests n where n.channel_reply_id = r.channel_reply_id
			and n.id <> r.id and n.created_at >= r.created_at)
		order by r.delivered_at, r.id`, replyIDs, age.Seconds()))
}

// UndeliveredInput returns one of the agent's settled requests that has not
// reached it; ErrNotFound when it has, or is not settled, or its reply ended.
func (db *DB) UndeliveredInput(ctx context.Context, agentID, id string) (ari.InputRequest, error) {
	r, err := scanInput(db.Pool.QueryRow(ctx, `select `+inputColumns+` from input_requests r `+replyOf+`
		where r.id = $2 and r.agent_id = $1 and r.state in ('answered', 'expired') and r.delivered_at is null
		and r.a2a_task_id is null and `+replyWaiting, agentID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// StaleUndelivered lists settled requests of waiting replies that have not
// reached their agent for longer than age (the notice may have been lost,
// or the agent is away): the sweeper nudges their agents' sockets again, and
// ends replies whose agent stayed away too long.
func (db *DB) StaleUndelivered(ctx context.Context, deployment string, age time.Duration) ([]ari.InputRequest, error) {
	return collectInputs(db.Pool.Query(ctx, `select `+inputColumns+` from input_requests r `+replyOf+`
		where r.state in ('answered', 'expired') and r.delivered_at is null and r.a2a_task_id is null
		and r.resolved_at < now() - make_interval(secs => $2)
		and `+replyWaiting+` and `+replyDeployment+`
		order by r.resolved_at`, deployment, age.Seconds()))
}

// A2AUnsent lists the deployment's settled requests of A2A tasks (answered
// or expired) whose answer has not been sent back while their replies still
// wait, oldest first: a relay instance claims each (MarkInputDelivered, won
// by one caller) and sends it into the agent's task.
func (db *DB) A2AUnsent(ctx context.Context, deployment string) ([]ari.InputRequest, error) {
	return collectInputs(db.Pool.Query(ctx, `select `+inputColumns+` from input_requests r
		join messages m on m.id = r.message_id and m.status = 'waiting_input'
		where r.a2a_task_id is not null and r.state in ('answered', 'expired') and r.delivered_at is null
		and (m.relay_deployment = $1 or m.relay_deployment is null)
		order by r.resolved_at`, deployment))
}

// MarkInputDelivered records that request id's answer (or expiry) reached
// the agent and lets its reply stream again (waiting_input → streaming)
// unless the reply still waits for another request: one open, or settled
// and not yet delivered (a record that comes late, after the agent has
// asked again and been answered, must not take that answer's way to the
// agent, which needs the reply waiting). False: it was recorded already.
func (db *DB) MarkInputDelivered(ctx context.Context, id string) (bool, error) {
	marked := false
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var reply string
		var channel bool
		err := tx.QueryRow(ctx, `update input_requests set delivered_at = now()
			where id = $1 and delivered_at is null and state in ('answered', 'expired')
			returning coalesce(message_id, channel_reply_id), channel_reply_id is not null`, id).Scan(&reply, &channel)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		marked = true
		// The reply's row first, as OpenInputRequest takes it: an agent
		// that asks again the moment it has the answer opens its next
		// request either before (then the check below sees it; in one
		// statement, a snapshot taken before that commit would not, and the
		// reply would stream with a request open that no answer reaches)
		// or after this transaction.
		if channel {
			if _, err := tx.Exec(ctx, `select 1 from channel_replies where id = $1 for update`, reply); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `update channel_replies set status = 'streaming'
				where id = $1 and status = 'waiting_input'
				and not exists (select 1 from input_requests where channel_reply_id = $1
					and (state = 'open' or (state in ('answered', 'expired') and delivered_at is null)))`, reply)
			return err
		}
		if _, err := tx.Exec(ctx, `select 1 from messages where id = $1 for update`, reply); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `update messages set status = 'streaming', updated_at = now()
			where id = $1 and status = 'waiting_input'
			and not exists (select 1 from input_requests where message_id = $1
				and (state = 'open' or (state in ('answered', 'expired') and delivered_at is null)))`, reply)
		return err
	})
	return marked, err
}

// ClaimAbandonedA2A returns the request of an A2A task that the reply
// replyID waited on when it ended (state cancelled), marking it delivered so
// that only one caller gets it: the relay then cancels the agent's task.
// ErrNotFound: there is none (a socket agent's reply, a reply that did not
// wait, or claimed already).
func (db *DB) ClaimAbandonedA2A(ctx context.Context, replyID string) (ari.InputRequest, error) {
	r, err := scanInput(db.Pool.QueryRow(ctx, `update input_requests r set delivered_at = now()
		where r.message_id = $1 and r.state = 'cancelled' and r.a2a_task_id is not null and r.delivered_at is null
		returning `+inputColumns, replyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// InputCursor is a position in a list of open requests (oldest first).
type InputCursor struct {
	CreatedAt time.Time `json:"c"`
	ID        string    `json:"i"`
}

// OpenInputRequests lists the open requests in the user's conversations,
// oldest first, or in one of them when conversationID is not "" (the caller
// checks membership for a 404; a foreign conversation simply lists none):
// those after the cursor (nil: from the start), at most limit (0: all).
func (db *DB) OpenInputRequests(ctx context.Context, userID, conversationID string, after *InputCursor, limit int) ([]ari.InputRequest, error) {
	var at *time.Time
	id := ""
	if after != nil {
		at, id = &after.CreatedAt, after.ID
	}
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	return collectInputs(db.Pool.Query(ctx, `select `+inputColumns+` from input_requests r
		join conversation_members cm on cm.conversation_id = r.conversation_id and cm.user_id = $1
		join messages m on m.id = r.message_id and m.status = 'waiting_input'
		where r.state = 'open' and ($2 = '' or r.conversation_id = $2)
		and ($3::timestamptz is null or (r.created_at, r.id) > ($3, $4))
		order by r.created_at, r.id limit $5`, userID, conversationID, at, id, lim))
}

// MaxSyncInputRequests bounds the open requests sync_result lists (each
// carries its prompt and schema, up to 12 KiB).
const MaxSyncInputRequests = 200

// NewestOpenInputRequests lists the newest open requests of the user's
// conversations, at most limit (≤ MaxSyncInputRequests), oldest first: what
// sync_result.inputRequests shows (the REST list pages through all).
func (db *DB) NewestOpenInputRequests(ctx context.Context, userID string, limit int) ([]ari.InputRequest, error) {
	limit = max(0, min(limit, MaxSyncInputRequests))
	return collectInputs(db.Pool.Query(ctx, `select `+inputColumns+` from input_requests r where r.id in (
		select x.id from input_requests x
		join conversation_members cm on cm.conversation_id = x.conversation_id and cm.user_id = $1
		join messages m on m.id = x.message_id and m.status = 'waiting_input'
		where x.state = 'open' order by x.created_at desc, x.id desc limit $2)
		order by r.created_at, r.id`, userID, limit))
}

// InputRequest returns one request in a conversation the user is a member
// of; ErrNotFound for unknown and foreign ids alike.
func (db *DB) InputRequest(ctx context.Context, userID, id string) (ari.InputRequest, error) {
	r, err := scanInput(db.Pool.QueryRow(ctx, `select `+inputColumns+` from input_requests r
		join conversation_members cm on cm.conversation_id = r.conversation_id and cm.user_id = $1
		where r.id = $2`, userID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// OpenChannelInput returns the open request of a channel reply (what a
// socket subscribing to the channel is shown); ErrNotFound when there is
// none.
func (db *DB) OpenChannelInput(ctx context.Context, replyID string) (ari.InputRequest, error) {
	r, err := scanInput(db.Pool.QueryRow(ctx, `select `+inputColumns+` from input_requests r
		where r.channel_reply_id = $1 and r.state = 'open'`, replyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// ClaimAbandonedA2ATasks takes up to limit A2A tasks whose requests were
// deleted before their answer or cancel was sent (the trigger of migration
// 00031), each by one caller only, as requests whose answer is a cancel:
// the relay cancels each task.
func (db *DB) ClaimAbandonedA2ATasks(ctx context.Context, limit int) ([]ari.InputRequest, error) {
	rows, err := db.Pool.Query(ctx, `delete from a2a_abandoned_tasks where id in (
		select id from a2a_abandoned_tasks order by id for update skip locked limit $1)
		returning agent_id, task_id, context_id, dialect, endpoint`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (ari.InputRequest, error) {
		var r ari.InputRequest
		var agent string
		err := row.Scan(&agent, &r.A2ATaskID, &r.A2AContextID, &r.A2ADialect, &r.A2AEndpoint)
		r.ID, r.AgentID, r.State = "abandoned:"+r.A2ATaskID, &agent, ari.InputCancelled
		return r, err
	})
}
