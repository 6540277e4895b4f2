// The supervisor's Events: one "ComponentRestarted" per restart, about the Node for a node's
// component and a ComponentStatus for the control plane (as the fault log's Events are). Best effort:
// the restart never waits for it; an Event the apiserver cannot take now (it was the apiserver, or etcd,
// that restarted) is kept, a bounded number, and posted once it answers.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { KubeObject } from '../api/types.ts';
import type { Logger } from '../lib/logger.ts';
import { tlsFetch } from '../lib/tls-fetch.ts';
import type { ClientTls } from '../client/index.ts';
import { describeExit, type RestartInfo } from './supervisor.ts';

export const REASON_RESTARTED = 'ComponentRestarted';
export const EVENT_SOURCE = 'kubemu-supervisor';
const MAX_PENDING = 100;
const RETRY_MS = 3000;

export function restartEvent(r: RestartInfo): KubeObject {
  const at = new Date().toISOString();
  const involved = r.spec.node ? { kind: 'Node', name: r.spec.node } : { kind: 'ComponentStatus', name: r.spec.name };
  return {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: `${involved.name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`, namespace: 'default' },
    involvedObject: { apiVersion: 'v1', ...involved },
    reason: REASON_RESTARTED, type: 'Warning', count: 1, firstTimestamp: at, lastTimestamp: at,
    message: `${r.spec.name} exited (${describeExit(r.exit)}) and was restarted after a back-off of ${r.backoffMs / 1000} s (pid ${r.oldPid} → ${r.pid}, restart ${r.restarts})`,
    source: { component: EVENT_SOURCE }, reportingComponent: EVENT_SOURCE, reportingInstance: '',
  };
}

/** The token to post with: a file holding just it (kubemu join's), or the admin token of a --token-auth cluster's tokens.csv. */
function readToken(file: string): string | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8');
    if (!file.endsWith('.csv')) return text.trim() || undefined;
    return text.split('\n').find((l) => l.split(',')[1] === 'kubemu-admin')?.split(',')[0];
  } catch {
    return undefined;
  }
}

export class ComponentEvents {
  private readonly pending: KubeObject[] = [];
  private posting = false;
  private timer?: NodeJS.Timeout;

  /** tokenFile: read at each post (tokens.csv appears after the supervisor starts). */
  /** tls: the cluster's admin certificate, looked for at each post until found (the PKI too may come later). */
  constructor(private readonly opts: { apiserver?: string; tokenFile: string; logger: Logger; tls?: () => ClientTls | undefined }) {}
  private tls?: ClientTls;

  restarted(r: RestartInfo): void {
    if (!this.opts.apiserver) return;
    this.pending.push(restartEvent(r));
    if (this.pending.length > MAX_PENDING) this.pending.shift(); // the oldest go first; the log keeps them all
    void this.flush();
  }

  close(): void { clearTimeout(this.timer); }

  private async flush(): Promise<void> {
    if (this.posting) return;
    this.posting = true;
    clearTimeout(this.timer);
    try {
      while (this.pending.length && await this.post(this.pending[0])) this.pending.shift();
    } finally {
      this.posting = false;
    }
    if (this.pending.length) this.timer = setTimeout(() => void this.flush(), RETRY_MS);
  }

  private async post(ev: KubeObject): Promise<boolean> {
    const token = readToken(this.opts.tokenFile);
    this.tls ??= this.opts.tls?.();
    try {
      const res = await tlsFetch(`${this.opts.apiserver}/api/v1/namespaces/default/events`, {
        method: 'POST', body: JSON.stringify(ev), signal: AbortSignal.timeout(3000),
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      }, this.tls);
      await res.arrayBuffer();
      // 409: a retry of one that did arrive. Anything else but success is not going to change by retrying.
      if (!res.ok && res.status !== 409 && res.status < 500) this.opts.logger.warn({ status: res.status, reason: ev.reason }, 'the apiserver refused the Event');
      return res.ok || res.status < 500;
    } catch (err) {
      this.opts.logger.debug({ err: String(err) }, 'apiserver not answering; the Event waits');
      return false;
    }
  }
}
