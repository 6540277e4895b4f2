// Per-item exponential back-off, as client-go's ItemExponentialFailureRateLimiter:
// delay = base * 2^failures, capped at max; forget() resets an item.
export interface RateLimiter<T> {
  when(item: T): number;
  forget(item: T): void;
  numRequeues(item: T): number;
}

export interface ExponentialOptions { baseDelayMs?: number; maxDelayMs?: number }

export class ItemExponentialRateLimiter<T> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>();
  private readonly base: number;
  private readonly max: number;

  constructor(opts: ExponentialOptions = {}) {
    this.base = opts.baseDelayMs ?? 5;
    this.max = opts.maxDelayMs ?? 1000_000;
    if (!(this.base > 0) || !(this.max >= this.base)) {
      throw new Error('rate limiter: need 0 < baseDelayMs <= maxDelayMs');
    }
  }

  when(item: T): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // Cap the exponent first so large failure counts cannot overflow to Infinity.
    return Math.min(this.max, this.base * 2 ** Math.min(n, 62));
  }

  forget(item: T): void { this.failures.delete(item); }

  numRequeues(item: T): number { return this.failures.get(item) ?? 0; }
}
