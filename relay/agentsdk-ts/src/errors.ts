// The SDK's errors. Every one has a stable `name`, so callers can tell them
// apart across module copies without instanceof.

/** The relay refused the agent (auth_error, or close 4001). Only auth_timeout is retried. */
export class AuthError extends Error {
  override readonly name = "AuthError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`the relay refused the agent: ${message} (${code})`);
  }
}

/** Close 4003: the token was regenerated or the agent deleted. Reconnecting with it is pointless. */
export class RevokedError extends Error {
  override readonly name = "RevokedError";
  constructor() {
    super("agent token revoked");
  }
}

/** Close 4004: a newer socket of the same agent took over. */
export class ReplacedError extends Error {
  override readonly name = "ReplacedError";
  constructor() {
    super("replaced by a newer connection of the same agent");
  }
}

/** The agent is shutting down (a task's signal reason, and what calls made afterwards reject with). */
export class StoppedError extends Error {
  override readonly name = "StoppedError";
  constructor() {
    super("agent stopped");
  }
}

/** A task's signal reason when the relay sent task_cancel; `reason` is the relay's. */
export class CancelledError extends Error {
  override readonly name = "CancelledError";
  constructor(readonly reason: string) {
    super(`task cancelled by the relay: ${reason}`);
  }
}

/** A task's signal reason when the relay answered not_your_task. */
export class NotYourTaskError extends Error {
  override readonly name = "NotYourTaskError";
  constructor() {
    super("the relay does not know this task");
  }
}

/** A write after the reply ended (complete, fail, or a second end). */
export class TaskEndedError extends Error {
  override readonly name = "TaskEndedError";
  constructor() {
    super("the reply has already ended");
  }
}

/**
 * Text the relay would refuse: a lone UTF-16 surrogate, U+0000, a reply over
 * 256 KiB, an accumulated text that does not extend what was sent, a bad
 * status. Nothing was sent.
 */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
}

/**
 * The relay's refusal of an agent message (an error frame whose ref is the
 * post's clientMessageId): not_found, client_message_id_in_use,
 * rate_limited (retryAfterMs says how long to wait; then post again with the
 * same id), invalid_frame, internal (a retry with the same id is safe).
 */
export class PostError extends Error {
  override readonly name = "PostError";
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfterMs?: number,
  ) {
    super(`the relay refused the post: ${message} (${code})`);
  }
}

/** isFatal reports whether err must stop the agent rather than be retried. */
export function isFatal(err: unknown): boolean {
  if (err instanceof AuthError) return err.code !== "auth_timeout";
  return err instanceof RevokedError || err instanceof ReplacedError;
}

/** relayEnded: the relay no longer accepts frames for a task aborted with this reason. */
export function relayEnded(reason: unknown): boolean {
  return reason instanceof CancelledError || reason instanceof NotYourTaskError;
}
