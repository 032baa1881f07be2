package a2a

import (
	"context"
	"errors"
)

// Cancel asks the agent to cancel its task remoteTaskID, in the dialect
// that worked for this agent. A running Run then receives the canceled
// state and ends with StatusCancelled. ErrNotCancelable means the task
// had already finished; ErrTaskNotFound that the agent does not know it.
func (c *Client) Cancel(ctx context.Context, a Agent, remoteTaskID string) error {
	if remoteTaskID == "" {
		return ErrTaskNotFound
	}
	r, err := c.routeFor(ctx, a)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.DiscoveryTimeout)
	defer cancel()
	return c.cancel(ctx, a, r.start, r.urlFor(r.start), remoteTaskID)
}

// CancelIn is Cancel in dialect d: for a task whose dialect is known (an
// input_required Outcome's), also when this process has not talked to the
// agent yet.
func (c *Client) CancelIn(ctx context.Context, a Agent, d Dialect, remoteTaskID string) error {
	if remoteTaskID == "" {
		return ErrTaskNotFound
	}
	r, err := c.routeFor(ctx, a)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.DiscoveryTimeout)
	defer cancel()
	return c.cancel(ctx, a, d, r.urlFor(d), remoteTaskID)
}

func (c *Client) cancel(ctx context.Context, a Agent, d Dialect, url, remoteTaskID string) error {
	resp, _, err := c.post(ctx, a, d, url, d.cancelMethod(), map[string]string{"id": remoteTaskID})
	if resp != nil {
		// A stream is not a cancel answer; the call was still delivered.
		resp.Body.Close()
	}
	var re *RPCError
	if errors.As(err, &re) {
		switch re.Code {
		case -32002:
			return errors.Join(ErrNotCancelable, err)
		case -32001:
			return errors.Join(ErrTaskNotFound, err)
		}
	}
	return err
}

// cancelQuietly is the best-effort cancel for a run that ends early. It
// must outlive the run's own context, which is usually what just ended.
func (c *Client) cancelQuietly(ctx context.Context, a Agent, d Dialect, url, remoteTaskID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.DiscoveryTimeout)
	defer cancel()
	_ = c.cancel(ctx, a, d, url, remoteTaskID)
}
