// The scheduling queue, as kube-scheduler's: an active queue ordered by priority then age; a
// per-pod exponential back-off after failures (1 s doubling to 10 s); unschedulable pods wait
// until the cluster changes (moveAllToActive) or a periodic flush.
import type { KubeObject } from '../api/types.ts';

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Unschedulable pods are retried at least this often even if nothing changes. */
  unschedulableFlushMs?: number;
  now?: () => number;
}

interface Entry { key: string; pod: KubeObject; attempts: number; readyAt: number; backoffUntil: number }

export class SchedulingQueue {
  private readonly active = new Map<string, Entry>();
  private readonly waiting = new Map<string, Entry>(); // backing off or unschedulable
  private readonly attempts = new Map<string, number>();
  private waiter: (() => void) | undefined;
  private closed = false;
  private timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly opts: QueueOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.promote(), 200);
    this.timer.unref();
  }

  private backoff(attempts: number): number {
    const base = this.opts.initialBackoffMs ?? 1000;
    return Math.min(this.opts.maxBackoffMs ?? 10_000, base * 2 ** Math.max(0, attempts - 1));
  }

  /** A new or changed pod that needs scheduling. */
  add(key: string, pod: KubeObject): void {
    if (this.closed) return;
    const w = this.waiting.get(key);
    if (w) { w.pod = pod; return; } // keep its back-off; the newest spec is used when it runs
    this.active.set(key, { key, pod, attempts: this.attempts.get(key) ?? 0, readyAt: 0, backoffUntil: 0 });
    this.wake();
  }

  /** It could not be placed: try again after back-off, or sooner when the cluster changes. */
  requeueUnschedulable(key: string, pod: KubeObject): void {
    const attempts = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempts);
    const backoffUntil = this.now() + this.backoff(attempts);
    this.waiting.set(key, { key, pod, attempts, backoffUntil, readyAt: Math.max(backoffUntil, this.now() + (this.opts.unschedulableFlushMs ?? 30_000)) });
  }

  /** A transient error (e.g. the bind failed): retry after back-off only. */
  requeueBackoff(key: string, pod: KubeObject): void {
    const attempts = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempts);
    const backoffUntil = this.now() + this.backoff(attempts);
    this.waiting.set(key, { key, pod, attempts, backoffUntil, readyAt: backoffUntil });
  }

  /** The cluster changed (a node appeared or changed, a pod went away): waiting pods may fit now,
   *  once their back-off has passed. */
  moveAllToActive(): void {
    for (const e of this.waiting.values()) e.readyAt = Math.min(e.readyAt, e.backoffUntil);
    this.promote();
  }

  remove(key: string): void {
    this.active.delete(key);
    this.waiting.delete(key);
    this.attempts.delete(key);
  }

  /** Scheduled: forget its attempts. */
  done(key: string): void { this.attempts.delete(key); }

  private promote(): void {
    const t = this.now();
    for (const [k, e] of this.waiting) {
      if (e.readyAt <= t) { this.waiting.delete(k); this.active.set(k, e); }
    }
    if (this.active.size) this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next pod: highest spec.priority first, then the oldest. Resolves undefined once closed. */
  async pop(): Promise<{ key: string; pod: KubeObject } | undefined> {
    while (!this.closed) {
      if (this.active.size) {
        let best: Entry | undefined;
        for (const e of this.active.values()) {
          if (!best) { best = e; continue; }
          const pa = e.pod.spec?.priority ?? 0, pb = best.pod.spec?.priority ?? 0;
          if (pa > pb || (pa === pb && (e.pod.metadata.creationTimestamp ?? '') < (best.pod.metadata.creationTimestamp ?? ''))) best = e;
        }
        this.active.delete(best!.key);
        return { key: best!.key, pod: best!.pod };
      }
      await new Promise<void>((resolve) => { this.waiter = resolve; });
    }
    return undefined;
  }

  get size(): { active: number; waiting: number } { return { active: this.active.size, waiting: this.waiting.size }; }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.wake();
  }
}
