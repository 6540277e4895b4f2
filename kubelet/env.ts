// A container's environment, as the kubelet builds it (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables):
//   1. envFrom sources in order (with their prefix), then env entries in order — an explicit entry wins, and a
//      `value` may use $(VAR) to refer to anything defined before it or to a Service variable;
//   2. the Service variables (envvars.FromServices) of every Service of the pod's namespace that has a ClusterIP
//      (unless enableServiceLinks is false), and always the `kubernetes` Service's from `default`, for each name
//      not set in step 1.
// The same $(VAR) expansion applies to command and args (expandCommandAndArgs).
import os from 'node:os';
import type { KubeObject } from '../api/types.ts';
import type { ApiClient } from '../client/api-client.ts';
import { parseQuantity } from '../api/quantity.ts';

type Obj = Record<string, any>;

export interface EnvDeps {
  client: ApiClient;
  nodeName: string;
  nodeIP: string;
  /** The node's allocatable cpu and memory: what resourceFieldRef reports for a limit the container does not set. */
  allocatable?: { cpu?: string; memory?: string };
}

const SERVICES = { group: '', resource: 'services' };
const envName = (s: string) => s.toUpperCase().replace(/-/g, '_');
const ipSet = (svc: Obj) => Boolean(svc.spec?.clusterIP) && svc.spec.clusterIP !== 'None';

/** Kubernetes' envvars.FromServices for one Service: _SERVICE_HOST/_SERVICE_PORT[_NAME] and the Docker-link set. */
export function serviceEnv(svc: Obj): Array<[string, string]> {
  const prefix = envName(svc.metadata.name);
  const ip: string = svc.spec.clusterIP;
  const ports: Obj[] = svc.spec.ports ?? [];
  const out: Array<[string, string]> = [[`${prefix}_SERVICE_HOST`, ip]];
  if (ports.length) out.push([`${prefix}_SERVICE_PORT`, String(ports[0].port)]);
  for (const p of ports) if (p.name) out.push([`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
  const hostPort = (port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  ports.forEach((p, i) => {
    const proto = String(p.protocol || 'TCP');
    const url = `${proto.toLowerCase()}://${hostPort(p.port)}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push([pp, url], [`${pp}_PROTO`, proto.toLowerCase()], [`${pp}_PORT`, String(p.port)], [`${pp}_ADDR`, ip]);
  });
  return out;
}

/** The Services whose variables a container of `pod` gets (getServiceEnvVarMap). */
async function serviceVariables(pod: KubeObject, client: ApiClient): Promise<Map<string, string>> {
  const ns = pod.metadata.namespace!;
  const links = pod.spec?.enableServiceLinks !== false;
  const chosen = new Map<string, Obj>();
  const master = await client.get(SERVICES, 'default', 'kubernetes').catch(() => undefined);
  if (master && ipSet(master)) chosen.set('kubernetes', master);
  if (links) {
    for (const s of (await client.list(SERVICES, ns)).items) if (ipSet(s) && !(ns === 'default' && s.metadata.name === 'kubernetes')) chosen.set(s.metadata.name!, s);
  }
  const out = new Map<string, string>();
  for (const s of [...chosen.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) for (const [k, v] of serviceEnv(s)) out.set(k, v);
  return out;
}

/** Kubernetes' expansion.Expand: $(VAR) → its value when defined (else left as written), $$ → $. */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) { out += c; continue; }
    const next = input[i + 1];
    if (next === '$') { out += '$'; i++; continue; }
    if (next === '(') {
      const end = input.indexOf(')', i + 2);
      if (end > 0) {
        const name = input.slice(i + 2, end);
        const v = lookup(name);
        out += v ?? `$(${name})`;
        i = end;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** Round `value` up to a whole number of `divisor`s, as the downward API does (at least 1 for a non-zero value). */
function divide(value: number, divisor: unknown): string {
  const d = parseQuantity(divisor ?? '1') || 1;
  return String(Math.ceil(value / d - 1e-9));
}

function resourceField(c: Obj, ref: Obj, deps: EnvDeps): string {
  const [kind, res] = String(ref.resource).split('.') as [string, string];
  const set = (c.resources as Obj | undefined)?.[kind]?.[res];
  const node = res === 'cpu' ? deps.allocatable?.cpu ?? String(os.cpus().length) : res === 'memory' ? deps.allocatable?.memory ?? String(os.totalmem()) : undefined;
  // An unset limit is the node's allocatable; an unset request is 0 (Kubernetes: requests default from limits).
  const q = set ?? (kind === 'limits' ? node : (c.resources as Obj | undefined)?.limits?.[res]) ?? '0';
  return divide(parseQuantity(q) ?? 0, ref.divisor);
}

function fieldRef(pod: KubeObject, path: string, podIPs: string[], deps: EnvDeps): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (pod.metadata as Obj)[m[1]!]?.[m[2]!] ?? '';
  const fields: Record<string, string> = {
    'metadata.name': pod.metadata.name!, 'metadata.namespace': pod.metadata.namespace!, 'metadata.uid': pod.metadata.uid!,
    'spec.nodeName': deps.nodeName, 'spec.serviceAccountName': pod.spec?.serviceAccountName ?? '',
    'status.podIP': podIPs[0] ?? '', 'status.podIPs': podIPs.join(','), 'status.hostIP': deps.nodeIP, 'status.hostIPs': deps.nodeIP,
  };
  if (!(path in fields)) throw new Error(`unsupported fieldPath: ${path}`);
  return fields[path]!;
}

/** The container's environment, in Kubernetes' order and with its precedence. */
export async function containerEnv(pod: KubeObject, c: Obj, podIP: string, deps: EnvDeps): Promise<{ key: string; value: string }[]> {
  const ns = pod.metadata.namespace;
  const podIPs = podIP ? [podIP] : [];
  const services = await serviceVariables(pod, deps.client);
  const out = new Map<string, string>();
  const lookup = (name: string) => out.get(name) ?? services.get(name);
  for (const src of c.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    if (!ref?.name) continue;
    const obj = await deps.client.get({ group: '', resource: src.configMapRef ? 'configmaps' : 'secrets' }, ns, ref.name).catch(() => undefined);
    if (!obj) { if (!ref.optional) throw new Error(`${src.configMapRef ? 'configmap' : 'secret'} "${ref.name}" not found`); continue; }
    for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) out.set(`${src.prefix ?? ''}${k}`, src.secretRef ? Buffer.from(v, 'base64').toString() : v);
  }
  for (const e of c.env ?? []) {
    if (!e.valueFrom) { out.set(e.name, expand(e.value ?? '', lookup)); continue; }
    const f = e.valueFrom;
    if (f.fieldRef) out.set(e.name, fieldRef(pod, f.fieldRef.fieldPath, podIPs, deps));
    else if (f.configMapKeyRef || f.secretKeyRef) {
      const ref = f.configMapKeyRef ?? f.secretKeyRef;
      const obj = await deps.client.get({ group: '', resource: f.configMapKeyRef ? 'configmaps' : 'secrets' }, ns, ref.name).catch(() => undefined);
      const v = (obj?.data as Record<string, string> | undefined)?.[ref.key];
      if (v === undefined) { if (!ref.optional) throw new Error(`couldn't find key ${ref.key} in ${f.configMapKeyRef ? 'ConfigMap' : 'Secret'} ${ns}/${ref.name}`); continue; }
      out.set(e.name, f.secretKeyRef ? Buffer.from(v, 'base64').toString() : v);
    } else if (f.resourceFieldRef) out.set(e.name, resourceField(c, f.resourceFieldRef, deps));
  }
  for (const [k, v] of services) if (!out.has(k)) out.set(k, v);
  return [...out].map(([key, value]) => ({ key, value }));
}

/** command and args with $(VAR) expanded from the container's final environment. */
export function expandCommandAndArgs(c: Obj, env: { key: string; value: string }[]): { command?: string[]; args?: string[] } {
  const m = new Map(env.map((e) => [e.key, e.value]));
  const x = (list: unknown) => (Array.isArray(list) ? list.map((s) => expand(String(s), (n) => m.get(n))) : undefined);
  return { command: x(c.command), args: x(c.args) };
}
