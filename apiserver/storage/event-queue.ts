// A bounded async queue that turns pushed events into an AsyncIterable. A consumer that
// falls more than `capacity` events behind is ended with an error instead of letting
// memory grow without bound (the client then re-lists, as with any broken watch).
import { ApiError } from '../../api/errors.ts';

export class EventQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((e: unknown) => void) | undefined;
  private ended = false;
  private error: unknown;
  constructor(private readonly capacity: number, private readonly onClose: () => void = () => {}) {}

  get closed(): boolean { return this.ended; }

  push(item: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = this.failWaiter = undefined;
      w({ value: item, done: false });
      return;
    }
    if (this.items.length >= this.capacity) {
      this.fail(new ApiError('Expired', `watch closed: the consumer fell more than ${this.capacity} events behind`));
      return;
    }
    this.items.push(item);
  }

  /** End the stream; pending items are still delivered first. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onClose();
    if (this.waiter && this.items.length === 0) {
      const w = this.waiter;
      this.waiter = this.failWaiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** End with an error, raised after the pending items. */
  fail(err: unknown): void {
    if (this.ended) return;
    this.error = err;
    this.ended = true;
    this.onClose();
    if (this.failWaiter && this.items.length === 0) {
      const f = this.failWaiter;
      this.waiter = this.failWaiter = undefined;
      f(err);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
        if (this.ended) {
          if (this.error !== undefined) {
            const e = this.error;
            this.error = undefined;
            return Promise.reject(e);
          }
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise<IteratorResult<T>>((resolve, reject) => { this.waiter = resolve; this.failWaiter = reject; });
      },
      return: () => {
        this.items = [];
        this.error = undefined;
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
