// Container lifecycle hooks, as the kubelet runs them: postStart right after the container starts (a failing one
// kills the container: FailedPostStartHook), preStop before SIGTERM, within the termination grace period (a failing
// one is a FailedPreStopHook warning and the stop goes on). Handlers: exec (in the container), httpGet (to the pod
// IP, or `host`), sleep. On a hollow node httpGet is simulated as a success (nothing listens on its addresses).
import type { RuntimeService } from './cri/types.ts';

type Obj = Record<string, any>;

function resolvePort(port: unknown, container: Obj): number {
  if (typeof port === 'number') return port;
  const named = (container.ports ?? []).find((p: Obj) => p.name === port);
  return named?.containerPort ?? Number(port);
}

/** Run one hook handler; resolves to an error message, or undefined when it succeeded. */
export async function runHook(handler: Obj | undefined, container: Obj, containerId: string, podIP: string, rt: RuntimeService, timeoutSeconds: number, simulateNetwork = false): Promise<string | undefined> {
  if (!handler) return undefined;
  try {
    if (handler.exec) {
      const r = await rt.execSync(containerId, handler.exec.command ?? [], Math.max(1, timeoutSeconds));
      if (r.exitCode !== 0) return `command '${(handler.exec.command ?? []).join(' ')}' exited with ${r.exitCode}: ${(r.stdout.toString() + r.stderr.toString()).trim()}`;
      return undefined;
    }
    if (handler.httpGet) {
      if (simulateNetwork) return undefined;
      const g = handler.httpGet;
      const url = `${(g.scheme ?? 'HTTP').toLowerCase()}://${g.host || podIP}:${resolvePort(g.port, container)}${g.path ?? '/'}`;
      const res = await fetch(url, { headers: Object.fromEntries((g.httpHeaders ?? []).map((h: Obj) => [h.name, h.value])), signal: AbortSignal.timeout(Math.max(1, timeoutSeconds) * 1000) });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 400 ? undefined : `HTTP lifecycle hook (${g.path ?? '/'}) for Container "${container.name}" returned status ${res.status}`;
    }
    if (handler.sleep) {
      await new Promise((r) => setTimeout(r, Math.min(Number(handler.sleep.seconds ?? 0), timeoutSeconds) * 1000));
      return undefined;
    }
    if (handler.tcpSocket) return 'tcpSocket is not a valid lifecycle handler (Kubernetes ignores it): use exec, httpGet or sleep';
    return 'lifecycle hook has no handler';
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Stop a container as the kubelet does: its preStop hook first (if any), then SIGTERM with what is left of the
 * grace period, then SIGKILL. `onHookFailure` gets a failed preStop's message.
 */
export async function stopWithPreStop(c: Obj | undefined, containerId: string, podIP: string, graceSeconds: number, rt: RuntimeService,
  onHookFailure: (message: string) => void, simulateNetwork = false): Promise<void> {
  const started = Date.now();
  const hook = c?.lifecycle?.preStop;
  if (hook && graceSeconds > 0) {
    const failed = await Promise.race([
      runHook(hook, c!, containerId, podIP, rt, graceSeconds, simulateNetwork),
      new Promise<string>((r) => setTimeout(() => r(`PreStopHook did not finish within the grace period of ${graceSeconds}s`), graceSeconds * 1000).unref()),
    ]);
    if (failed) onHookFailure(failed);
  }
  const left = Math.max(graceSeconds > 0 ? 2 : 0, Math.ceil(graceSeconds - (Date.now() - started) / 1000));
  await rt.stopContainer(containerId, left);
}
