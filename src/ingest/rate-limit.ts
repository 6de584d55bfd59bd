// A token bucket per write key for the tracking API (docs/adr/0007-tracking-api.md). Held in this
// process's memory: with several processes behind a balancer, each enforces the limit on its own share.

export interface RateLimitOptions {
  /** Tokens (events) added per second. */
  perSecond: number;
  /** Bucket size: the most events accepted at once after a quiet spell. */
  burst: number;
  /** Milliseconds since some fixed origin; injectable for tests. */
  now?: () => number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets beyond this many trigger a sweep of the full (idle) ones, so memory follows active keys. */
const SWEEP_AT = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly options: RateLimitOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Takes `cost` tokens from `key`'s bucket. A request costing more than the whole bucket (a batch larger
   * than the burst) is admitted once the bucket is full and leaves it in debt, so it is neither refused
   * forever nor a way around the rate.
   */
  take(key: string, cost: number): RateDecision {
    const { perSecond, burst } = this.options;
    const now = this.now();
    const bucket = this.refill(key, now);
    const needed = Math.min(Math.max(cost, 1), burst);
    if (bucket.tokens < needed) {
      const waitMs = ((needed - bucket.tokens) / perSecond) * 1000;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    bucket.tokens -= Math.max(cost, 1);
    return { ok: true };
  }

  private refill(key: string, now: number): Bucket {
    const { perSecond, burst } = this.options;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      bucket = { tokens: burst, at: now };
      this.buckets.set(key, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    return bucket;
  }

  /** Forgets buckets that have refilled completely: a new bucket starts full, so nothing changes. */
  private sweep(now: number): void {
    const { perSecond, burst } = this.options;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * perSecond >= burst) this.buckets.delete(key);
    }
  }
}
