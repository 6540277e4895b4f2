// What kube-apiserver's printers (pkg/printers/internalversion) compute for `kubectl get` columns, shared by the
// kinds' printers: ages, pod and node STATUS, selectors, Service ports and addresses, Job status.
import { labelSelectorToString } from '../../api/selectors.ts';
import type { Column } from './kind.ts';

type Obj = Record<string, any>;

/** Kubernetes' duration.HumanDuration: `38s`, `5m12s`, `3h`, `2d5h`, `3y`. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (h < 24 * 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

export const age = (ts: string | undefined, now = Date.now()): string => (ts ? humanDuration(now - Date.parse(ts)) : '<unknown>');

export const containers = (tpl: Obj | undefined) => (tpl?.containers ?? []).map((c: Obj) => c.name).join(',');
export const images = (tpl: Obj | undefined) => (tpl?.containers ?? []).map((c: Obj) => c.image).join(',');
export const selector = (sel: Obj | undefined): string => {
  if (!sel) return '<none>';
  try { return labelSelectorToString(sel) || '<none>'; } catch { return '<invalid>'; }
};
export const mapSelector = (sel: Record<string, string> | undefined) =>
  sel && Object.keys(sel).length ? Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
export const orNone = (v: unknown) => (v === undefined || v === null || v === '' ? '<none>' : String(v));

export const WIDE_WORKLOAD: Column[] = [
  { name: 'Containers', priority: 1 }, { name: 'Images', priority: 1 }, { name: 'Selector', priority: 1 },
];

/** Pod STATUS as kubectl prints it (printPod). */
export function podStatus(pod: Obj): { status: string; ready: string; restarts: string } {
  const st = pod.status ?? {};
  let reason: string = st.reason || st.phase || 'Unknown';
  // A gated pod reads SchedulingGated (printPod looks at the PodScheduled condition's reason).
  if ((st.conditions ?? []).some((c: Obj) => c?.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';
  const specContainers: Obj[] = pod.spec?.containers ?? [];
  let restarts = 0;
  let lastRestart: string | undefined;
  let initializing = false;
  const inits: Obj[] = st.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    restarts += c.restartCount ?? 0;
    const term = c.state?.terminated;
    const wait = c.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (term) reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    else if (wait?.reason && wait.reason !== 'PodInitializing') reason = `Init:${wait.reason}`;
    else reason = `Init:${i}/${(pod.spec?.initContainers ?? []).length}`;
    initializing = true;
    break;
  }
  let ready = 0;
  if (!initializing) {
    restarts = 0;
    let hasRunning = false;
    const statuses: Obj[] = st.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += c.restartCount ?? 0;
      const fin = c.lastState?.terminated?.finishedAt;
      if (fin && (!lastRestart || fin > lastRestart)) lastRestart = fin;
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
      else if (c.state?.terminated) reason = c.state.terminated.signal ? `Signal:${c.state.terminated.signal}` : `ExitCode:${c.state.terminated.exitCode}`;
      else if (c.ready && c.state?.running) { hasRunning = true; ready++; }
    }
    if (reason === 'Completed' && hasRunning) {
      const readyCond = (st.conditions ?? []).find((c: Obj) => c.type === 'Ready');
      reason = readyCond?.status === 'True' ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp) reason = st.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return {
    status: reason,
    ready: `${ready}/${specContainers.length}`,
    restarts: lastRestart ? `${restarts} (${age(lastRestart)} ago)` : String(restarts),
  };
}

export function nodeStatus(node: Obj): string {
  const ready = (node.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
  // As Kubernetes' printer: any Ready status but True (False or Unknown) reads NotReady.
  let s = !ready ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady';
  if (node.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

export function servicePorts(svc: Obj): string {
  const ports: Obj[] = svc.spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

export function externalIP(svc: Obj): string {
  const s = svc.spec ?? {};
  if (s.type === 'ExternalName') return s.externalName ?? '<none>';
  const ext: string[] = [...(s.externalIPs ?? [])];
  if (s.type === 'LoadBalancer') {
    const ing = (svc.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip || i.hostname).filter(Boolean);
    ext.push(...ing);
    return ext.length ? ext.join(',') : '<pending>';
  }
  return ext.length ? ext.join(',') : '<none>';
}

export function endpointsText(ep: Obj): string {
  const all: string[] = [];
  for (const sub of ep.subsets ?? []) {
    const ports: Obj[] = sub.ports?.length ? sub.ports : [{}];
    for (const a of sub.addresses ?? []) for (const p of ports) all.push(p.port ? `${a.ip}:${p.port}` : a.ip);
  }
  if (!all.length) return '<none>';
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

export function jobStatus(job: Obj): string {
  const conds: Obj[] = job.status?.conditions ?? [];
  const has = (t: string) => conds.some((c) => c.type === t && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (job.spec?.suspend || has('Suspended')) return 'Suspended';
  return 'Running';
}

export function jobDuration(job: Obj): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : Date.now();
  return humanDuration(end - Date.parse(start));
}
