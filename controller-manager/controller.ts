// The controller loop every controller shares: event handlers only enqueue keys; N workers
// take a key, reconcile it, forget it on success or re-queue it with back-off on error.
// Reconcile is level-triggered: it reads the informer caches, never an event's payload.
import type { KeyObject } from 'node:crypto';
import type { KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';
import { keyOf, type Informer } from '../client/informer.ts';
import { WorkQueue } from '../client/workqueue.ts';
import { ItemExponentialRateLimiter } from '../client/rate-limiter.ts';
import type { Logger } from '../lib/logger.ts';
import type { SharedInformers } from './informers.ts';

export interface ControllerContext {
  client: ApiClient;
  informers: SharedInformers;
  logger: Logger;
  /** Timings a test or a flag can shorten. */
  options: ControllerManagerTimings;
}

export interface ControllerManagerTimings {
  /** A node whose lease has not been renewed for this long is Ready=Unknown. */
  nodeMonitorGracePeriodMs: number;
  /** How often the node lifecycle controller looks at leases. */
  nodeMonitorPeriodMs: number;
  /** Default toleration of not-ready/unreachable taints added to pods (tolerationSeconds). */
  defaultTolerationSeconds: number;
  /** How often CronJob schedules are checked. */
  cronJobCheckPeriodMs: number;
  /** Addresses for Services of type LoadBalancer (FIRST-LAST or a CIDR). */
  loadBalancerPool?: string;
  /** The CA the csrsigning controller signs with (--cluster-signing-cert-file/--cluster-signing-key-file); none: it does not run. */
  clusterSigningCertFile?: string;
  clusterSigningKeyFile?: string;
  /** The longest certificate it issues (--cluster-signing-duration, default 8760h). */
  clusterSigningDurationSeconds?: number;
  /** The cluster CA the root-ca-cert-publisher puts in every namespace (the PEM of --root-ca-file). */
  rootCA?: string;
  /** The key the serviceaccount-token controller signs legacy tokens with (--service-account-private-key-file). */
  serviceAccountPrivateKey?: KeyObject;
}

export const DEFAULT_TIMINGS: ControllerManagerTimings = {
  nodeMonitorGracePeriodMs: 40_000,
  nodeMonitorPeriodMs: 5_000,
  defaultTolerationSeconds: 300,
  cronJobCheckPeriodMs: 10_000,
};

/** A controller factory returns none when its configuration is missing (csrsigning without a CA): it does not run. */
/** What a controller returns: it is started after the informers it asked for have synced. */
export interface Controller {
  name: string;
  queue: WorkQueue<string>;
  reconcile(key: string): Promise<void>;
  workers?: number;
  /** Optional background loop (periodic checks), run alongside the workers. */
  run?(signal: AbortSignal): Promise<void>;
}

export function newQueue(): WorkQueue<string> {
  return new WorkQueue<string>({ rateLimiter: new ItemExponentialRateLimiter<string>({ baseDelayMs: 5, maxDelayMs: 60_000 }) });
}

/** Enqueue an object's own key on add, update and delete. */
export function enqueueSelf(inf: Informer, queue: WorkQueue<string>): void {
  const add = (o: KubeObject) => queue.add(keyOf(o));
  inf.addHandlers({ onAdd: add, onUpdate: (_o, n) => add(n), onDelete: add });
}

/** Enqueue the controlling owner of an object (e.g. a pod's ReplicaSet) when it is of `kind`. */
export function enqueueOwner(inf: Informer, queue: WorkQueue<string>, kind: string, extra?: (o: KubeObject) => void): void {
  const add = (o: KubeObject) => {
    const ref = o.metadata.ownerReferences?.find((r) => r.controller);
    if (ref?.kind === kind) queue.add(o.metadata.namespace ? `${o.metadata.namespace}/${ref.name}` : ref.name);
    extra?.(o);
  };
  inf.addHandlers({ onAdd: add, onUpdate: (o, n) => { add(o); add(n); }, onDelete: add });
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export async function runWorkers(c: Controller, signal: AbortSignal, logger: Logger): Promise<void> {
  signal.addEventListener('abort', () => c.queue.shutDown(), { once: true });
  const worker = async () => {
    for (;;) {
      const key = await c.queue.get();
      if (key === undefined) return;
      try {
        await c.reconcile(key);
        c.queue.forget(key);
      } catch (err) {
        const e = err as { code?: string; message?: string };
        // A conflict just means our cache was behind: try again soon, quietly.
        if (e.code !== 'Conflict' && e.code !== 'AlreadyExists') logger.warn({ key, err: e.message ?? String(err), retries: c.queue.numRequeues(key) }, 'reconcile failed; retrying');
        c.queue.addRateLimited(key);
      } finally {
        c.queue.done(key);
      }
    }
  };
  await Promise.all([...Array(c.workers ?? 2)].map(worker).concat(c.run ? [c.run(signal)] : []));
}
