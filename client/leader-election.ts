// Lease-based leader election (coordination.k8s.io/v1), as client-go's leaderelection: take
// the Lease when it is free or expired, renew it every retry period, step down when renewal
// has failed for renewDeadline. The scheduler and controller manager use it.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { now } from '../api/types.ts';
import type { KubeObject } from '../api/types.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import type { ApiClient } from './api-client.ts';

const LEASES = { group: 'coordination.k8s.io', resource: 'leases' };

export interface LeaderElectorOptions {
  client: ApiClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading?(): void;
  onNewLeader?(identity: string): void;
  /** True when `identity` is known to be gone (kube-proxy: a dead process on this host): its lease is
   *  free at once instead of after leaseDuration. */
  holderGone?(identity: string): boolean;
  /** Keep leading while renewals fail, until the lease is seen held by another identity. For work that
   *  hurts when it stops and does no harm if a partitioned leader goes on with it (kube-proxy's
   *  userspace listeners: stopping them while the apiserver restarts would refuse every connection). */
  keepLeadingUntilAnotherHolder?: boolean;
  logger?: Logger;
}

/**
 * A candidate's identity, as kube-scheduler's `<hostname>_<uuid>`, with the pid last (tests and the
 * fault tools find the leading process by it). The random part keeps two replicas apart when they share
 * a hostname and a pid: containers on the host network are all PID 1 of their own namespace.
 */
export function leaderIdentity(): string {
  return `${os.hostname()}_${randomUUID().slice(0, 8)}_${process.pid}`;
}

/** RFC 3339 with microseconds, as MicroTime is written. */
const microNow = () => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private observedHolder = '';
  private readonly logger: Logger;

  constructor(private readonly o: LeaderElectorOptions) {
    if (!o?.client || !o.namespace || !o.name || !o.identity) throw new Error('LeaderElector: client, namespace, name and identity are required');
    this.logger = o.logger ?? silentLogger();
  }

  isLeader(): boolean { return this.leading; }

  private get duration() { return this.o.leaseDurationSeconds ?? 15; }

  /** One attempt to acquire or renew. True when this identity holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    let lease: KubeObject;
    try {
      lease = await client.get(LEASES, namespace, name);
    } catch (err) {
      if ((err as { code?: string }).code !== 'NotFound') throw err;
      await client.create(LEASES, namespace, {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: this.duration, acquireTime: microNow(), renewTime: microNow(), leaseTransitions: 0 },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder: string = spec.holderIdentity ?? '';
    if (holder !== this.observedHolder) { this.observedHolder = holder; if (holder) this.o.onNewLeader?.(holder); }
    const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? this.duration) * 1000 < Date.now()
      || (holder !== '' && holder !== identity && this.o.holderGone?.(holder) === true);
    if (holder && holder !== identity && !expired) return false;
    const next: KubeObject = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.duration,
        renewTime: microNow(),
        acquireTime: holder === identity ? spec.acquireTime : microNow(),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
      },
    };
    await client.update(LEASES, namespace, next); // CAS on resourceVersion: a racing candidate gets Conflict
    return true;
  }

  /** Campaign until the signal aborts; lead while the lease is held. */
  async run(signal: AbortSignal): Promise<void> {
    const retry = this.o.retryPeriodMs ?? 2000;
    const deadline = this.o.renewDeadlineMs ?? 10_000;
    let leaderAbort: AbortController | undefined;
    let lastRenew = 0;
    while (!signal.aborted) {
      let held = false;
      try {
        held = await this.tryAcquireOrRenew();
      } catch (err) {
        this.logger.debug({ err: String(err) }, 'leader election attempt failed');
      }
      if (held) {
        lastRenew = Date.now();
        // Not once stopping: an attempt under way when the stop came may still have taken the lease.
        if (!this.leading && !signal.aborted) {
          this.leading = true;
          this.logger.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity, at: now() }, 'became leader');
          leaderAbort = new AbortController();
          void Promise.resolve(this.o.onStartedLeading(leaderAbort.signal)).catch((err) => this.logger.error({ err: String(err) }, 'leader work failed'));
        }
      } else if (this.leading && !this.o.keepLeadingUntilAnotherHolder && Date.now() - lastRenew > deadline) {
        this.stepDown(leaderAbort);
      } else if (this.leading && !held) {
        // Someone else holds it now: step down at once.
        const lease = await this.o.client.get(LEASES, this.o.namespace, this.o.name).catch(() => undefined);
        if (lease && lease.spec?.holderIdentity !== this.o.identity) this.stepDown(leaderAbort);
      }
      await new Promise((r) => setTimeout(r, retry));
    }
    if (this.leading) this.stepDown(leaderAbort);
  }

  private stepDown(ctrl: AbortController | undefined): void {
    this.leading = false;
    ctrl?.abort();
    this.logger.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'stopped leading');
    this.o.onStoppedLeading?.();
  }
}
