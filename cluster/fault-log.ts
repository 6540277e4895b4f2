// Every fault kubemu injects, and every undo, goes to two places: <dir>/faults.jsonl (what a test
// suite reads back, and what collectLogs copies) and the cluster's own event log as a core/v1 Event
// from `kubemu-faults`, so `kubectl get events` tells the story beside what the components reported.
// An Event the apiserver cannot take right now (the fault was the apiserver or etcd) is kept in
// <dir>/faults-pending-events.jsonl and posted with the next record; its fixed name makes a retry of
// one that did arrive a harmless 409.
import { adminTls } from '../launcher/pki.ts';
import { tlsFetch } from '../lib/tls-fetch.ts';
import type { ClientTls } from '../client/index.ts';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../api/types.ts';

export type FaultAction = 'kill' | 'restart' | 'stopNode' | 'startNode' | 'partitionNode' | 'healNode' | 'pauseContainer' | 'resumeContainer';

export interface FaultRecord {
  /** When the fault (or its undo) took effect, ISO 8601. */
  at: string;
  action: FaultAction;
  /** A component (`scheduler`), a node, or a container as `namespace/pod/container`. */
  target: string;
  /** Set on an undo: the fault it undoes (startNode undoes stopNode, healNode partitionNode, …). */
  undone?: FaultAction;
  /** What happened, in words; also the Event's message. */
  message: string;
}

/** What the Event is about: the Node for node faults, the Pod for container faults, a ComponentStatus for the control plane. */
export interface InvolvedObject { kind: 'Node' | 'Pod' | 'ComponentStatus'; name: string; namespace?: string; uid?: string }

export const REASON_INJECTED = 'FaultInjected';
export const REASON_UNDONE = 'FaultUndone';
export const EVENT_SOURCE = 'kubemu-faults';

export const faultsPath = (dir: string) => path.join(dir, 'faults.jsonl');
const pendingPath = (dir: string) => path.join(dir, 'faults-pending-events.jsonl');

function readJsonLines<T>(file: string): T[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
  } catch {
    return [];
  }
}

export const readFaults = (dir: string): FaultRecord[] => readJsonLines<FaultRecord>(faultsPath(dir));

export function faultEvent(rec: FaultRecord, involved: InvolvedObject): KubeObject {
  // Kubernetes keeps a namespaced object's Events in its namespace; cluster-scoped ones in default.
  const namespace = involved.namespace ?? 'default';
  return {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: `${involved.name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`, namespace },
    involvedObject: { apiVersion: 'v1', kind: involved.kind, name: involved.name, namespace: involved.namespace, uid: involved.uid },
    reason: rec.undone ? REASON_UNDONE : REASON_INJECTED, message: rec.message, type: rec.undone ? 'Normal' : 'Warning',
    count: 1, firstTimestamp: rec.at, lastTimestamp: rec.at,
    source: { component: EVENT_SOURCE }, reportingComponent: EVENT_SOURCE, reportingInstance: '',
    action: rec.action,
  };
}

// One writer at a time per cluster dir in this process: records stay in order, pending Events are not lost.
const chains = new Map<string, Promise<unknown>>();

function serialized<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const run = (chains.get(dir) ?? Promise.resolve()).then(fn, fn);
  chains.set(dir, run.catch(() => {}));
  return run;
}

/** Appends the record to faults.jsonl and reports it as an Event (now if the apiserver answers, else later). */
export function recordFault(dir: string, apiserver: string, rec: Omit<FaultRecord, 'at'>, involved: InvolvedObject): Promise<FaultRecord> {
  return serialized(dir, async () => {
    const full: FaultRecord = { at: new Date().toISOString(), ...rec };
    fs.appendFileSync(faultsPath(dir), `${JSON.stringify(full)}\n`);
    fs.appendFileSync(pendingPath(dir), `${JSON.stringify(faultEvent(full, involved))}\n`);
    await postPending(dir, apiserver);
    return full;
  });
}

/** Posts the Events not yet in the cluster, in order; returns how many are still waiting. */
export function postPendingEvents(dir: string, apiserver: string): Promise<number> {
  return serialized(dir, () => postPending(dir, apiserver));
}

async function postPending(dir: string, apiserver: string): Promise<number> {
  const tls = adminTls(dir);
  const pending = readJsonLines<KubeObject>(pendingPath(dir));
  if (!pending.length) return 0;
  const left: KubeObject[] = [];
  for (const ev of pending) {
    // Once one fails the apiserver is not taking Events: keep the rest in order without trying.
    if (left.length || !(await postEvent(apiserver, ev, tls))) left.push(ev);
  }
  if (left.length) fs.writeFileSync(pendingPath(dir), left.map((e) => `${JSON.stringify(e)}\n`).join(''));
  else fs.rmSync(pendingPath(dir), { force: true });
  return left.length;
}

async function postEvent(apiserver: string, ev: KubeObject, tls?: ClientTls): Promise<boolean> {
  try {
    const res = await tlsFetch(`${apiserver}/api/v1/namespaces/${ev.metadata.namespace}/events`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ev), signal: AbortSignal.timeout(3000),
    }, tls);
    await res.arrayBuffer();
    return res.ok || res.status === 409;
  } catch {
    return false;
  }
}
