// For controller tests without kubelets: a real apiserver, the controller manager in-process,
// and a stand-in for the kubelets that marks pods Running and Ready after a short delay.
import type { KubeObject } from '../api/types.ts';
import { now } from '../api/types.ts';
import { setMaxListeners } from 'node:events';
import type { ApiClient } from '../client/api-client.ts';
import { createApiClient } from '../client/index.ts';
import { Informer } from '../client/informer.ts';
import { silentLogger } from '../lib/logger.ts';
import { testApiServer } from '../test/harness/apiserver.ts';
import { until as poll } from '../test/harness/until.ts';
import { DEFAULT_TIMINGS, runWorkers, type Controller, type ControllerContext, type ControllerManagerTimings } from './controller.ts';
import { R, SharedInformers } from './informers.ts';

let ipCounter = 1;

/** Marks each new pod Running+Ready after `delayMs` (as a kubelet would), and finishes deleting pods. Stop with the signal. */
export function fakeKubelets(client: ApiClient, signal: AbortSignal, opts: { delayMs?: number; ready?: (pod: KubeObject) => boolean } = {}): Informer {
  const inf = new Informer(client, R.pods);
  const seen = new Set<string>();
  const handle = (p: KubeObject) => {
    if (p.metadata.deletionTimestamp) {
      void client.delete(R.pods, p.metadata.namespace, p.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } }).catch(() => {});
      return;
    }
    if (p.status?.phase === 'Running' || seen.has(p.metadata.uid!)) return;
    seen.add(p.metadata.uid!);
    setTimeout(() => {
      if (signal.aborted) return;
      const ready = opts.ready?.(p) ?? true;
      const t = now();
      const ip = `10.244.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}`;
      void client.patch(R.pods, p.metadata.namespace, p.metadata.name!, {
        status: {
          phase: 'Running', podIP: ip, podIPs: [{ ip }], startTime: t,
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: t }, { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: t }],
        },
      }, { subresource: 'status' }).catch(() => {});
    }, opts.delayMs ?? 50);
  };
  inf.addHandlers({ onAdd: handle, onUpdate: (_o, n) => handle(n) });
  void inf.run(signal);
  return inf;
}

/** test/harness/until.ts as the controller tests wait: 10 s by default, every 25 ms; an error fails the wait. */
export const until = <T>(what: string, fn: () => T | Promise<T>, ms = 10_000): Promise<T> => poll(what, fn, ms, { everyMs: 25, retryErrors: false });

export interface ControllerTestbed {
  client: ApiClient;
  informers: SharedInformers;
  /** Aborted by stop(): for anything else the test runs beside the controller. */
  signal: AbortSignal;
  stop(): Promise<void>;
}

/** A real apiserver over a real etcd, and one controller running in this process against it. */
export async function controllerTestbed(make: (ctx: ControllerContext) => Controller, options: Partial<ControllerManagerTimings> = {}): Promise<ControllerTestbed> {
  const cleanups: Array<() => unknown> = [];
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // every informer and worker listens for the stop
  const api = await testApiServer({ after: (fn) => cleanups.push(fn) });
  const client = createApiClient({ transport: 'grpc', server: api.grpcAddress });
  const informers = new SharedInformers(client, silentLogger());
  const ctrl = make({ client, informers, logger: silentLogger(), options: { ...DEFAULT_TIMINGS, ...options } });
  void informers.start(stop.signal);
  void runWorkers(ctrl, stop.signal, silentLogger());
  return {
    client, informers, signal: stop.signal,
    async stop() {
      stop.abort();
      await client.close();
      for (const fn of cleanups.reverse()) await fn();
    },
  };
}
