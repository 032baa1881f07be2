/**
 * Backoff spaces reconnect attempts: the delay starts at initialMs and
 * doubles after each failed attempt up to maxMs; each wait is drawn at random
 * from its upper half, so agents cut off together do not come back together.
 */
export interface BackoffOptions {
  /** 500 ms when absent. */
  initialMs?: number;
  /** 30 s when absent. */
  maxMs?: number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  private cur: number;

  constructor(o: BackoffOptions = {}, private readonly random: () => number = Math.random) {
    this.initialMs = o.initialMs && o.initialMs > 0 ? o.initialMs : 500;
    this.maxMs = Math.max(o.maxMs && o.maxMs > 0 ? o.maxMs : 30_000, this.initialMs);
    this.cur = this.initialMs;
  }

  /** next returns the wait before the coming attempt and grows the next one. */
  next(): number {
    const d = this.jitter(this.cur);
    this.cur = Math.min(this.cur * 2, this.maxMs);
    return d;
  }

  reset(): void {
    this.cur = this.initialMs;
  }

  /** jitter draws from [d/2, d]. */
  jitter(d: number): number {
    return d / 2 + this.random() * (d / 2);
  }
}

/** sleep waits ms, or less if signal aborts; it reports whether it slept the whole time. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
