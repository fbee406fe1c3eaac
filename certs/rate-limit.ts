/**
 * A per-client token-bucket rate limit for the enrollment server: each client address has
 * a bucket of `burst` tokens refilled at `perSecond`; a request takes one token or is
 * refused (HTTP 429). Time comes from the injected Clock (monotonic), so tests run it on a
 * VirtualClock; no timers are used. The bucket table is bounded: when full, buckets that
 * have refilled completely (idle clients) are dropped first, then the oldest.
 */
import type { Clock } from '../src/common/clock.js';

export interface RateLimitOptions {
  /** Requests a client may make at once (bucket size). Default 20. */
  burst?: number;
  /** Sustained requests per second per client. Default 1. */
  perSecond?: number;
  /** Most client buckets kept. Default 10000. */
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucketLimiter {
  readonly burst: number;
  readonly perSecond: number;
  private readonly maxClients: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Clock,
    opts: RateLimitOptions = {},
  ) {
    this.burst = opts.burst ?? 20;
    this.perSecond = opts.perSecond ?? 1;
    this.maxClients = opts.maxClients ?? 10_000;
    if (!(this.burst >= 1) || !(this.perSecond > 0) || !(this.maxClients >= 1)) {
      throw new RangeError('rate limit: burst must be >= 1, perSecond > 0, maxClients >= 1');
    }
  }

  /** Takes a token for `client`; false when its bucket is empty. */
  take(client: string): boolean {
    const now = this.clock.monotonic();
    let b = this.buckets.get(client);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
      b.at = now;
      // Keep the map in least-recently-used order.
      this.buckets.delete(client);
    } else {
      if (this.buckets.size >= this.maxClients) this.evict(now);
      b = { tokens: this.burst, at: now };
    }
    this.buckets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Seconds until `client` has a token again (0 if it has one now). */
  retryAfterSeconds(client: string): number {
    const b = this.buckets.get(client);
    if (!b) return 0;
    const tokens = Math.min(this.burst, b.tokens + ((this.clock.monotonic() - b.at) / 1000) * this.perSecond);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.perSecond);
  }

  get clients(): number {
    return this.buckets.size;
  }

  private evict(now: number): void {
    const fullAfterMs = (this.burst / this.perSecond) * 1000;
    for (const [k, b] of this.buckets) {
      if (now - b.at >= fullAfterMs) this.buckets.delete(k);
    }
    while (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
