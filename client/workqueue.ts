// client-go's "stingy and fair" work queue: an item is queued at most once (dirty set)
// and never handed to two workers at once (processing set); re-adds during processing
// are queued again on done().
import { ItemExponentialRateLimiter, type RateLimiter } from './rate-limiter.ts';

export interface WorkQueueOptions<T> {
  rateLimiter?: RateLimiter<T>;
  /** Injectable timer for addAfter (tests). */
  setTimer?: (fn: () => void, ms: number) => unknown;
}

export class WorkQueue<T> {
  private readonly queue: T[] = [];
  private readonly dirty = new Set<T>();
  private readonly processing = new Set<T>();
  private readonly waiters: Array<(v: T | undefined) => void> = [];
  private shuttingDown = false;
  private readonly rateLimiter: RateLimiter<T>;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;

  constructor(opts: WorkQueueOptions<T> = {}) {
    this.rateLimiter = opts.rateLimiter ?? new ItemExponentialRateLimiter<T>();
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
  }

  add(item: T): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    const w = this.waiters.shift();
    if (w) { this.dirty.delete(item); this.processing.add(item); w(item); return; }
    this.queue.push(item);
  }

  /** Resolves with the next item, or undefined once shut down and drained. */
  get(): Promise<T | undefined> {
    const item = this.queue.shift();
    if (item !== undefined) {
      this.dirty.delete(item);
      this.processing.add(item);
      return Promise.resolve(item);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(item: T): void {
    this.processing.delete(item);
    if (this.dirty.has(item)) { this.dirty.delete(item); this.add(item); }
  }

  addAfter(item: T, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) { this.add(item); return; }
    this.setTimer(() => this.add(item), ms);
  }

  addRateLimited(item: T): void { this.addAfter(item, this.rateLimiter.when(item)); }
  forget(item: T): void { this.rateLimiter.forget(item); }
  numRequeues(item: T): number { return this.rateLimiter.numRequeues(item); }
  len(): number { return this.queue.length; }

  shutDown(): void {
    this.shuttingDown = true;
    for (const w of this.waiters.splice(0)) w(undefined);
  }
  isShuttingDown(): boolean { return this.shuttingDown; }
}
