// One balancer per service port: strict round-robin over the backends, each new connection
// (TCP) or flow (UDP) to the next one, with optional ClientIP affinity — the old userspace
// kube-proxy's LoadBalancerRR. Unlike it, an endpoint change does not reset the rotation:
// it carries on from the backend after the last one picked, so a scale-up or a restart of
// one pod does not send the next burst of connections to the first backend again.
import { backendKey, compareBackends, type Backend } from './service-map.ts';

export interface BalancerOptions {
  affinity?: { timeoutSeconds: number };
  /** Injectable clock (ms) for affinity expiry in tests. */
  now?: () => number;
}

interface Sticky { backend: Backend; lastUsed: number }

export class Balancer {
  private backends: Backend[] = [];
  /** Position of the next rotation pick in `backends`. */
  private index = 0;
  /** The last backend handed out by the rotation (not by affinity): where rotation resumes after an update. */
  private last: Backend | undefined;
  private affinity: { timeoutSeconds: number } | undefined;
  private readonly sticky = new Map<string, Sticky>();
  private lastSweep = 0;
  private readonly now: () => number;

  constructor(backends: Backend[] = [], opts: BalancerOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.update(backends, opts.affinity);
  }

  get size(): number { return this.backends.length; }

  list(): readonly Backend[] { return this.backends; }

  /**
   * The backend for a new connection from `clientIp`. `exclude` holds backendKeys already tried
   * for this connection (they refused): affinity to one of them is dropped and the rotation
   * skips them. Undefined when no backend is left.
   */
  next(clientIp?: string, exclude?: ReadonlySet<string>): Backend | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    const now = this.now();
    const useAffinity = this.affinity !== undefined && clientIp !== undefined;
    if (useAffinity) {
      this.sweep(now);
      const s = this.sticky.get(clientIp);
      if (s && !this.expired(s, now) && !exclude?.has(backendKey(s.backend))) {
        s.lastUsed = now;
        return s.backend;
      }
      this.sticky.delete(clientIp);
    }
    for (let i = 0; i < n; i++) {
      const b = this.backends[this.index];
      this.index = (this.index + 1) % n;
      if (exclude?.has(backendKey(b))) continue;
      this.last = b;
      if (useAffinity) this.sticky.set(clientIp, { backend: b, lastUsed: now });
      return b;
    }
    return undefined;
  }

  /**
   * Replace the backend set. Same set: nothing moves. Otherwise rotation resumes at the first
   * backend after the last one picked (in the sorted order), and affinity to removed backends
   * is forgotten. Connections already open are not this class's business: they keep going.
   */
  update(backends: Backend[], affinity?: { timeoutSeconds: number }): void {
    const sorted = [...backends].sort(compareBackends);
    if (!sameAffinity(this.affinity, affinity)) this.sticky.clear();
    this.affinity = affinity;
    if (sameBackends(this.backends, sorted)) return;
    this.backends = sorted;
    const keep = new Set(sorted.map(backendKey));
    for (const [ip, s] of this.sticky) if (!keep.has(backendKey(s.backend))) this.sticky.delete(ip);
    const last = this.last;
    const after = last ? sorted.findIndex((b) => compareBackends(b, last) > 0) : 0;
    this.index = after < 0 ? 0 : after; // past the end: wrap to the first
  }

  private expired(s: Sticky, now: number): boolean {
    return now - s.lastUsed > this.affinity!.timeoutSeconds * 1000;
  }

  /** Lazy expiry, plus a full sweep at most once per timeout so clients that never return are freed. */
  private sweep(now: number): void {
    const every = this.affinity!.timeoutSeconds * 1000;
    if (now - this.lastSweep < every) return;
    this.lastSweep = now;
    for (const [ip, s] of this.sticky) if (this.expired(s, now)) this.sticky.delete(ip);
  }
}

const sameBackends = (a: Backend[], b: Backend[]): boolean =>
  a.length === b.length && a.every((x, i) => x.ip === b[i].ip && x.port === b[i].port);

const sameAffinity = (a?: { timeoutSeconds: number }, b?: { timeoutSeconds: number }): boolean =>
  a?.timeoutSeconds === b?.timeoutSeconds;
