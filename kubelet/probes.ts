// Liveness, readiness and startup probes with Kubernetes' timing fields: httpGet (to the pod IP),
// tcpSocket, grpc (grpc-probe.ts) and exec (through the runtime). Each container's probe state lives between syncs.
import net from 'node:net';
import type { RuntimeService } from './cri/types.ts';
import { grpcProbe } from './grpc-probe.ts';

type Obj = Record<string, any>;
export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export interface ProbeState { lastRunAt: number; successes: number; failures: number; result?: boolean; message?: string }

function resolvePort(port: unknown, container: Obj): number {
  if (typeof port === 'number') return port;
  const named = (container.ports ?? []).find((p: Obj) => p.name === port);
  return named?.containerPort ?? Number(port);
}

/** Run one probe; ok plus a message like the kubelet's when it fails. */
export async function runProbe(probe: Obj, container: Obj, podIP: string, containerId: string, rt: RuntimeService): Promise<{ ok: boolean; message: string }> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) {
      const g = probe.httpGet;
      const host = g.host || podIP;
      const url = `${(g.scheme ?? 'HTTP').toLowerCase()}://${host}:${resolvePort(g.port, container)}${g.path ?? '/'}`;
      const headers = Object.fromEntries((g.httpHeaders ?? []).map((h: Obj) => [h.name, h.value]));
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${res.status}` };
    }
    if (probe.tcpSocket) {
      const port = resolvePort(probe.tcpSocket.port, container);
      const host = probe.tcpSocket.host || podIP;
      await new Promise<void>((resolve, reject) => {
        const s = net.connect({ host, port, timeout: timeoutMs }, () => { s.destroy(); resolve(); });
        s.on('timeout', () => { s.destroy(); reject(new Error(`dial tcp ${host}:${port}: i/o timeout`)); });
        s.on('error', (e) => reject(new Error(`dial tcp ${host}:${port}: ${e.message}`)));
      });
      return { ok: true, message: '' };
    }
    if (probe.grpc) return await grpcProbe(podIP, Number(probe.grpc.port), probe.grpc.service ?? '', timeoutMs);
    if (probe.exec) {
      const r = await rt.execSync(containerId, probe.exec.command ?? [], probe.timeoutSeconds ?? 1);
      return r.exitCode === 0 ? { ok: true, message: '' } : { ok: false, message: `command ${JSON.stringify(probe.exec.command)} exited with ${r.exitCode}: ${(r.stdout.toString() + r.stderr.toString()).trim()}` };
    }
    return { ok: false, message: 'probe has no handler' };
  } catch (err) {
    const m = (err as Error).message;
    return { ok: false, message: /timeout|aborted/i.test(m) ? `Get "${probe.httpGet ? 'probe' : ''}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` : m };
  }
}

/**
 * Advance one probe if its period has come: returns the state, with result true/false once
 * successThreshold/failureThreshold is reached (undefined before the first verdict).
 */
export async function tickProbe(state: ProbeState, probe: Obj, startedAtMs: number, run: () => Promise<{ ok: boolean; message: string }>): Promise<ProbeState> {
  const now = Date.now();
  if (now < startedAtMs + (probe.initialDelaySeconds ?? 0) * 1000) return state;
  if (state.lastRunAt && now - state.lastRunAt < (probe.periodSeconds ?? 10) * 1000) return state;
  state.lastRunAt = now;
  const r = await run();
  if (r.ok) {
    state.failures = 0;
    state.successes++;
    if (state.successes >= (probe.successThreshold ?? 1)) { state.result = true; state.message = ''; }
  } else {
    state.successes = 0;
    state.failures++;
    state.message = r.message;
    if (state.failures >= (probe.failureThreshold ?? 3)) state.result = false;
  }
  return state;
}
