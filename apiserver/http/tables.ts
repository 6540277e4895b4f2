// Server-side printing: the meta.k8s.io/v1 Table kubectl asks for on `kubectl get`, with the
// columns and cell formats of kube-apiserver's printers (pkg/printers/internalversion).
import { labelSelectorToString } from '../../api/selectors.ts';
import type { ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';

type Obj = Record<string, any>;
type Cell = string | number | boolean;
interface Column { name: string; type?: string; format?: string; priority?: number; description?: string }

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

const containers = (tpl: Obj | undefined) => (tpl?.containers ?? []).map((c: Obj) => c.name).join(',');
const images = (tpl: Obj | undefined) => (tpl?.containers ?? []).map((c: Obj) => c.image).join(',');
const selector = (sel: Obj | undefined): string => {
  if (!sel) return '<none>';
  try { return labelSelectorToString(sel) || '<none>'; } catch { return '<invalid>'; }
};
const mapSelector = (sel: Record<string, string> | undefined) =>
  sel && Object.keys(sel).length ? Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
const orNone = (v: unknown) => (v === undefined || v === null || v === '' ? '<none>' : String(v));

const WIDE_WORKLOAD: Column[] = [
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

function servicePorts(svc: Obj): string {
  const ports: Obj[] = svc.spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

function externalIP(svc: Obj): string {
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

function endpointsText(ep: Obj): string {
  const all: string[] = [];
  for (const sub of ep.subsets ?? []) {
    const ports: Obj[] = sub.ports?.length ? sub.ports : [{}];
    for (const a of sub.addresses ?? []) for (const p of ports) all.push(p.port ? `${a.ip}:${p.port}` : a.ip);
  }
  if (!all.length) return '<none>';
  return all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(',');
}

function jobStatus(job: Obj): string {
  const conds: Obj[] = job.status?.conditions ?? [];
  const has = (t: string) => conds.some((c) => c.type === t && c.status === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (job.spec?.suspend || has('Suspended')) return 'Suspended';
  return 'Running';
}

function jobDuration(job: Obj): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime ? Date.parse(job.status.completionTime) : Date.now();
  return humanDuration(end - Date.parse(start));
}

interface Printer { columns: Column[]; cells(o: Obj): Cell[] }

const PRINTERS: Record<string, Printer> = {
  pods: {
    columns: [{ name: 'Ready' }, { name: 'Status' }, { name: 'Restarts' }, { name: 'Age' },
      { name: 'IP', priority: 1 }, { name: 'Node', priority: 1 }, { name: 'Nominated Node', priority: 1 }, { name: 'Readiness Gates', priority: 1 }],
    cells(o) {
      const p = podStatus(o);
      const gates: Obj[] = o.spec?.readinessGates ?? [];
      const gateText = gates.length
        ? `${gates.filter((g) => (o.status?.conditions ?? []).some((c: Obj) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
        : '<none>';
      return [p.ready, p.status, p.restarts, age(o.metadata.creationTimestamp), orNone(o.status?.podIP), orNone(o.spec?.nodeName), orNone(o.status?.nominatedNodeName), gateText];
    },
  },
  namespaces: { columns: [{ name: 'Status' }, { name: 'Age' }], cells: (o) => [o.status?.phase ?? 'Active', age(o.metadata.creationTimestamp)] },
  nodes: {
    columns: [{ name: 'Status' }, { name: 'Roles' }, { name: 'Age' }, { name: 'Version' },
      { name: 'Internal-IP', priority: 1 }, { name: 'External-IP', priority: 1 }, { name: 'OS-Image', priority: 1 },
      { name: 'Kernel-Version', priority: 1 }, { name: 'Container-Runtime', priority: 1 }],
    cells(o) {
      const roles = Object.keys(o.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice(24)).filter(Boolean);
      const addr = (t: string) => (o.status?.addresses ?? []).find((a: Obj) => a.type === t)?.address ?? '<none>';
      const info = o.status?.nodeInfo ?? {};
      return [nodeStatus(o), roles.length ? roles.sort().join(',') : '<none>', age(o.metadata.creationTimestamp), info.kubeletVersion ?? '',
        addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
    },
  },
  services: {
    columns: [{ name: 'Type' }, { name: 'Cluster-IP' }, { name: 'External-IP' }, { name: 'Port(s)' }, { name: 'Age' }, { name: 'Selector', priority: 1 }],
    cells: (o) => [o.spec?.type ?? 'ClusterIP', orNone(o.spec?.clusterIP), externalIP(o), servicePorts(o), age(o.metadata.creationTimestamp), mapSelector(o.spec?.selector)],
  },
  endpoints: { columns: [{ name: 'Endpoints' }, { name: 'Age' }], cells: (o) => [endpointsText(o), age(o.metadata.creationTimestamp)] },
  configmaps: {
    columns: [{ name: 'Data' }, { name: 'Age' }],
    cells: (o) => [Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, age(o.metadata.creationTimestamp)],
  },
  secrets: {
    columns: [{ name: 'Type' }, { name: 'Data' }, { name: 'Age' }],
    cells: (o) => [o.type ?? 'Opaque', Object.keys(o.data ?? {}).length, age(o.metadata.creationTimestamp)],
  },
  serviceaccounts: { columns: [{ name: 'Secrets' }, { name: 'Age' }], cells: (o) => [(o.secrets ?? []).length, age(o.metadata.creationTimestamp)] },
  componentstatuses: {
    columns: [{ name: 'Status' }, { name: 'Message' }, { name: 'Error' }],
    cells(o) {
      const c = (o.conditions ?? []).find((x: Obj) => x.type === 'Healthy') ?? {};
      return [c.status === 'True' ? 'Healthy' : 'Unhealthy', c.message ?? '', c.error ?? ''];
    },
  },
  events: {
    columns: [{ name: 'Last Seen' }, { name: 'Type' }, { name: 'Reason' }, { name: 'Object' }, { name: 'Message' },
      { name: 'Subobject', priority: 1 }, { name: 'Source', priority: 1 }, { name: 'First Seen', priority: 1 }, { name: 'Count', priority: 1 }, { name: 'Name', priority: 1 }],
    cells(o) {
      const io = o.involvedObject ?? {};
      const last = o.series?.lastObservedTime ?? o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      const first = o.firstTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp;
      const source = [o.source?.component ?? o.reportingComponent, o.source?.host ?? o.reportingInstance].filter(Boolean).join(', ');
      return [age(last), o.type ?? '', o.reason ?? '', `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`, String(o.message ?? '').trim(),
        io.fieldPath ?? '', source, age(first), o.count ?? 1, o.metadata.name];
    },
  },
  replicationcontrollers: {
    columns: [{ name: 'Desired' }, { name: 'Current' }, { name: 'Ready' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells: (o) => [o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o.metadata.creationTimestamp),
      containers(o.spec?.template?.spec), images(o.spec?.template?.spec), mapSelector(o.spec?.selector)],
  },
  deployments: {
    columns: [{ name: 'Ready' }, { name: 'Up-to-date' }, { name: 'Available' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells: (o) => [`${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, o.status?.updatedReplicas ?? 0, o.status?.availableReplicas ?? 0,
      age(o.metadata.creationTimestamp), containers(o.spec?.template?.spec), images(o.spec?.template?.spec), selector(o.spec?.selector)],
  },
  replicasets: {
    columns: [{ name: 'Desired' }, { name: 'Current' }, { name: 'Ready' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells: (o) => [o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age(o.metadata.creationTimestamp),
      containers(o.spec?.template?.spec), images(o.spec?.template?.spec), selector(o.spec?.selector)],
  },
  daemonsets: {
    columns: [{ name: 'Desired' }, { name: 'Current' }, { name: 'Ready' }, { name: 'Up-to-date' }, { name: 'Available' }, { name: 'Node Selector' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells: (o) => [o.status?.desiredNumberScheduled ?? 0, o.status?.currentNumberScheduled ?? 0, o.status?.numberReady ?? 0,
      o.status?.updatedNumberScheduled ?? 0, o.status?.numberAvailable ?? 0, mapSelector(o.spec?.template?.spec?.nodeSelector),
      age(o.metadata.creationTimestamp), containers(o.spec?.template?.spec), images(o.spec?.template?.spec), selector(o.spec?.selector)],
  },
  statefulsets: {
    columns: [{ name: 'Ready' }, { name: 'Age' }, { name: 'Containers', priority: 1 }, { name: 'Images', priority: 1 }],
    cells: (o) => [`${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, age(o.metadata.creationTimestamp),
      containers(o.spec?.template?.spec), images(o.spec?.template?.spec)],
  },
  jobs: {
    columns: [{ name: 'Status' }, { name: 'Completions' }, { name: 'Duration' }, { name: 'Age' }, ...WIDE_WORKLOAD],
    cells(o) {
      const done = o.status?.succeeded ?? 0;
      const completions = o.spec?.completions !== undefined && o.spec?.completions !== null
        ? `${done}/${o.spec.completions}` : `${done}/1 of ${o.spec?.parallelism ?? 1}`;
      return [jobStatus(o), completions, jobDuration(o), age(o.metadata.creationTimestamp),
        containers(o.spec?.template?.spec), images(o.spec?.template?.spec), selector(o.spec?.selector)];
    },
  },
  cronjobs: {
    columns: [{ name: 'Schedule' }, { name: 'Timezone' }, { name: 'Suspend' }, { name: 'Active' }, { name: 'Last Schedule' }, { name: 'Age' },
      { name: 'Containers', priority: 1 }, { name: 'Images', priority: 1 }, { name: 'Selector', priority: 1 }],
    cells: (o) => [o.spec?.schedule ?? '', o.spec?.timeZone ?? '<none>', Boolean(o.spec?.suspend), (o.status?.active ?? []).length,
      o.status?.lastScheduleTime ? age(o.status.lastScheduleTime) : '<none>', age(o.metadata.creationTimestamp),
      containers(o.spec?.jobTemplate?.spec?.template?.spec), images(o.spec?.jobTemplate?.spec?.template?.spec), selector(o.spec?.jobTemplate?.spec?.selector)],
  },
  leases: { columns: [{ name: 'Holder' }, { name: 'Age' }], cells: (o) => [o.spec?.holderIdentity ?? '', age(o.metadata.creationTimestamp)] },
};

const DEFAULT_PRINTER: Printer = { columns: [{ name: 'Age' }], cells: (o) => [age(o.metadata.creationTimestamp)] };

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function columnDefinitions(info: ResourceInfo): Obj[] {
  const printer = PRINTERS[info.resource] ?? DEFAULT_PRINTER;
  // Events lead with Last Seen; everything else with Name (format "name" gives kubectl its kind/name prefix).
  const name = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };
  const cols = printer.columns.map((c) => ({ name: c.name, type: c.type ?? 'string', format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 }));
  return info.resource === 'events' ? cols : [name, ...cols];
}

function row(info: ResourceInfo, obj: KubeObject, include: IncludeObject): Obj {
  const printer = PRINTERS[info.resource] ?? DEFAULT_PRINTER;
  let cells: Cell[];
  try {
    cells = printer.cells(obj as Obj);
  } catch {
    cells = printer.columns.map(() => '<unknown>'); // never fail a whole listing on one odd object
  }
  if (info.resource !== 'events') cells = [obj.metadata.name ?? '', ...cells];
  const r: Obj = { cells };
  if (include === 'Object') r.object = obj;
  else if (include === 'Metadata') r.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
  return r;
}

export function toTable(info: ResourceInfo, items: KubeObject[], meta: { resourceVersion?: string; continue?: string }, include: IncludeObject = 'Metadata', withColumns = true): Obj {
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: meta,
    columnDefinitions: withColumns ? columnDefinitions(info) : [],
    rows: items.map((o) => row(info, o, include)),
  };
}
