// Services + Endpoints → proxy rules, as a pure function: one rule per service port, with the
// addresses it listens on (frontends) and the ready endpoints it forwards to (backends).
// Pure so the proxier's diffing and the tests can work on plain data.
import type { KubeObject } from '../api/types.ts';

type Obj = Record<string, any>;

export interface Backend { ip: string; port: number }
export interface Frontend { ip: string; port: number; kind: 'ClusterIP' | 'NodePort' | 'LoadBalancer' }

export interface ServicePortRule {
  /** `${ns}/${name}:${port.name || port.port}/${protocol}` — one balancer per key. */
  key: string;
  /** `${ns}/${name}`, the metrics label. */
  service: string;
  portName: string;
  protocol: 'TCP' | 'UDP';
  frontends: Frontend[];
  /** Ready addresses only, sorted by ip then port so the rotation order is stable. */
  backends: Backend[];
  affinity?: { timeoutSeconds: number };
}

export interface BuildOptions {
  nodeIP: string;
  serveClusterIPs: boolean;
  loadBalancerIPs: boolean;
}

/** Kubernetes' default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

const nsName = (o: KubeObject) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

/** The rotation order: by ip (numeric-aware, so 10.0.0.9 < 10.0.0.10), then port. */
export const compareBackends = (a: Backend, b: Backend): number =>
  a.ip.localeCompare(b.ip, 'en', { numeric: true }) || a.port - b.port;

export const backendKey = (b: Backend): string => `${b.ip}:${b.port}`;

export function buildRules(services: KubeObject[], endpoints: KubeObject[], opts: BuildOptions): ServicePortRule[] {
  const epByName = new Map(endpoints.map((e) => [nsName(e), e]));
  const rules: ServicePortRule[] = [];
  for (const svc of services) {
    const spec: Obj = svc.spec ?? {};
    // ExternalName is DNS only; headless services are resolved to pod IPs by DNS, nothing to proxy.
    if (spec.type === 'ExternalName' || spec.clusterIP === 'None') continue;
    const service = nsName(svc);
    const affinity = spec.sessionAffinity === 'ClientIP'
      ? { timeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS }
      : undefined;
    for (const sp of (spec.ports ?? []) as Obj[]) {
      const protocol = sp.protocol ?? 'TCP';
      if (protocol !== 'TCP' && protocol !== 'UDP') continue; // SCTP: not proxied
      const frontends = frontendsOf(svc, sp, opts);
      if (frontends.length === 0) continue;
      rules.push({
        key: `${service}:${sp.name || sp.port}/${protocol}`,
        service,
        portName: sp.name ?? '',
        protocol,
        frontends,
        backends: backendsOf(epByName.get(service), sp.name ?? '', protocol),
        ...(affinity && { affinity }),
      });
    }
  }
  return rules;
}

function frontendsOf(svc: KubeObject, sp: Obj, opts: BuildOptions): Frontend[] {
  const spec: Obj = svc.spec ?? {};
  const out: Frontend[] = [];
  const add = (f: Frontend) => { if (!out.some((o) => o.ip === f.ip && o.port === f.port)) out.push(f); };
  if (opts.serveClusterIPs && spec.clusterIP) add({ ip: spec.clusterIP, port: sp.port, kind: 'ClusterIP' });
  const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  if (external && sp.nodePort) add({ ip: opts.nodeIP, port: sp.nodePort, kind: 'NodePort' });
  if (spec.type === 'LoadBalancer' && opts.loadBalancerIPs) {
    for (const ing of (svc.status?.loadBalancer?.ingress ?? []) as Obj[]) {
      if (ing.ip) add({ ip: ing.ip, port: sp.port, kind: 'LoadBalancer' });
    }
  }
  return out;
}

/** Ready addresses whose subset has a port of the same name and protocol (kube-proxy's matching). */
function backendsOf(ep: KubeObject | undefined, portName: string, protocol: string): Backend[] {
  const seen = new Map<string, Backend>();
  for (const subset of ((ep as Obj | undefined)?.subsets ?? []) as Obj[]) {
    const port = (subset.ports ?? []).find((p: Obj) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
    if (!port) continue;
    for (const a of (subset.addresses ?? []) as Obj[]) {
      const b = { ip: a.ip, port: port.port };
      seen.set(backendKey(b), b);
    }
  }
  return [...seen.values()].sort(compareBackends);
}
