// Service-specific storage rules: ClusterIP and NodePort allocation on create, keeping and
// re-allocating them on update, releasing them on delete (Kubernetes' service REST storage).
import { fieldInvalid, invalid, type ApiError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import type { ServiceAllocator } from '../registry/allocator.ts';

const needsNodePorts = (svc: KubeObject) => svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
const owner = (svc: KubeObject) => `${svc.metadata.namespace}/${svc.metadata.name}`;
const portKey = (p: any) => `${p.name ?? ''}/${p.port}/${p.protocol ?? 'TCP'}`;

/** What a create or update allocated, so a failed write can give it back. */
export interface Allocation { ips: string[]; ports: number[] }

async function rollback(alloc: ServiceAllocator, a: Allocation): Promise<void> {
  for (const ip of a.ips) await alloc.releaseIP(ip);
  for (const p of a.ports) await alloc.releasePort(p);
}

function wrap(svc: KubeObject, field: string, value: unknown, err: unknown): never {
  throw invalid('Service', svc.metadata.name ?? '', [fieldInvalid(field, value, (err as ApiError).message)]);
}

async function allocateNodePorts(alloc: ServiceAllocator, svc: KubeObject, a: Allocation, old?: KubeObject): Promise<void> {
  const oldPorts = new Map<string, number>();
  for (const p of old?.spec?.ports ?? []) if (p.nodePort) oldPorts.set(portKey(p), p.nodePort);
  const ports: any[] = svc.spec.ports ?? [];
  for (let i = 0; i < ports.length; i++) {
    const p = ports[i];
    const kept = oldPorts.get(portKey(p));
    if (p.nodePort && p.nodePort === kept) continue;
    if (!p.nodePort && kept) { p.nodePort = kept; continue; }
    try {
      p.nodePort = await alloc.allocatePort(owner(svc), p.nodePort || undefined);
      a.ports.push(p.nodePort);
    } catch (err) {
      await rollback(alloc, a);
      wrap(svc, `spec.ports[${i}].nodePort`, p.nodePort, err);
    }
  }
}

/**
 * As Kubernetes' dropTypeDependentFields: when an update changes the type, fields the new type
 * cannot have are cleared if the user left them as they were (so `kubectl patch svc x -p
 * '{"spec":{"type":"ClusterIP"}}'` works on a NodePort service); a value the user changed still
 * fails validation.
 */
export function dropTypeDependentFields(svc: KubeObject, old: KubeObject): void {
  const spec = svc.spec;
  if (!spec || spec.type === old.spec?.type) return;
  const oldPorts = new Map<string, number>((old.spec?.ports ?? []).map((p: any) => [portKey(p), p.nodePort]));
  if (!needsNodePorts(svc)) for (const p of spec.ports ?? []) if (p.nodePort && p.nodePort === oldPorts.get(portKey(p))) delete p.nodePort;
  if (spec.type !== 'LoadBalancer') {
    if (spec.loadBalancerIP === old.spec?.loadBalancerIP) delete spec.loadBalancerIP;
    if (spec.externalTrafficPolicy === old.spec?.externalTrafficPolicy && spec.type !== 'NodePort') delete spec.externalTrafficPolicy;
  }
  if (spec.type === 'ExternalName' && spec.clusterIP === old.spec?.clusterIP) { delete spec.clusterIP; delete spec.clusterIPs; }
}

/** Before a Service is first stored. Returns what to release if the write then fails. */
export async function allocateForCreate(alloc: ServiceAllocator, svc: KubeObject, dryRun: boolean): Promise<Allocation> {
  const a: Allocation = { ips: [], ports: [] };
  const spec = svc.spec;
  if (spec.type === 'ExternalName') return a;
  const requested = spec.clusterIP || spec.clusterIPs?.[0];
  if (requested === 'None') {
    spec.clusterIP = 'None';
    spec.clusterIPs = ['None'];
  } else if (!dryRun) {
    try {
      const ip = await alloc.allocateIP(owner(svc), requested || undefined);
      a.ips.push(ip);
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    } catch (err) {
      wrap(svc, 'spec.clusterIPs', requested ? [requested] : [], err);
    }
  }
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  if (needsNodePorts(svc) && !dryRun) await allocateNodePorts(alloc, svc, a);
  return a;
}

/** On update: clusterIP stays (and may not change); node ports are kept, added or released. */
export async function allocateForUpdate(alloc: ServiceAllocator, svc: KubeObject, old: KubeObject): Promise<{ alloc: Allocation; release: () => Promise<void> }> {
  const a: Allocation = { ips: [], ports: [] };
  const spec = svc.spec;
  const toRelease: Array<() => Promise<void>> = [];
  const oldIP = old.spec?.clusterIP;
  if (spec.type === 'ExternalName') {
    if (oldIP && oldIP !== 'None') toRelease.push(() => alloc.releaseIP(oldIP));
    delete spec.clusterIP; delete spec.clusterIPs;
  } else {
    if (!spec.clusterIP && oldIP) { spec.clusterIP = oldIP; spec.clusterIPs = old.spec.clusterIPs ?? [oldIP]; }
    if (oldIP && spec.clusterIP !== oldIP) {
      throw invalid('Service', svc.metadata.name ?? '', [fieldInvalid('spec.clusterIPs[0]', spec.clusterIP, 'may not change once set')]);
    }
    if (!spec.clusterIP) {
      const created = await allocateForCreate(alloc, svc, false);
      a.ips.push(...created.ips); a.ports.push(...created.ports);
    }
  }
  if (needsNodePorts(svc)) await allocateNodePorts(alloc, svc, a, old);
  else for (const p of spec.ports ?? []) delete p.nodePort;
  const stillUsed = new Set<number>((spec.ports ?? []).map((p: any) => p.nodePort).filter(Boolean));
  for (const p of old.spec?.ports ?? []) if (p.nodePort && !stillUsed.has(p.nodePort)) toRelease.push(() => alloc.releasePort(p.nodePort));
  return { alloc: a, release: async () => { for (const r of toRelease) await r(); } };
}

export async function releaseAll(alloc: ServiceAllocator, svc: KubeObject): Promise<void> {
  await rollback(alloc, {
    ips: (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]).filter((ip: string | undefined) => ip && ip !== 'None'),
    ports: (svc.spec?.ports ?? []).map((p: any) => p.nodePort).filter(Boolean),
  });
}

export { rollback as releaseAllocation };
