// API discovery from the resource table: aggregated discovery (apidiscovery.k8s.io v2 and
// v2beta1, chosen from the Accept header as kubectl 1.27–1.33 need) and the plain documents.
import { RESOURCES, STANDARD_VERBS, apiVersionOf, type ResourceInfo } from '../../api/resources.ts';
import { COMPONENT_STATUSES, COMPONENT_STATUS_VERBS } from './component-statuses.ts';

type Obj = Record<string, any>;

interface SubInfo { group: string; version: string; kind: string; verbs: string[] }

/** responseKind and verbs of each subresource, as kube-apiserver advertises them. */
function subresourceInfo(info: ResourceInfo, sub: string): SubInfo {
  const own = { group: info.group, version: info.version, kind: info.kind };
  switch (sub) {
    case 'status': case 'ephemeralcontainers': return { ...own, verbs: ['get', 'patch', 'update'] };
    case 'scale': return { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
    case 'binding': return { group: '', version: 'v1', kind: 'Binding', verbs: ['create'] };
    case 'eviction': return { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] };
    case 'log': return { ...own, verbs: ['get'] };
    case 'exec': return { group: '', version: 'v1', kind: 'PodExecOptions', verbs: ['create', 'get'] };
    case 'attach': return { group: '', version: 'v1', kind: 'PodAttachOptions', verbs: ['create', 'get'] };
    case 'portforward': return { group: '', version: 'v1', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] };
    case 'proxy': return { group: '', version: 'v1', kind: `${info.kind}ProxyOptions`, verbs: ['create', 'delete', 'get', 'patch', 'update'] };
    case 'finalize': return { ...own, verbs: ['update'] };
    default: return { ...own, verbs: ['get'] };
  }
}

/** The group versions kubemu serves, core first; a group's versions in Kubernetes' priority order (v1 before v1beta1). */
export function groups(): Array<{ group: string; version: string; resources: ResourceInfo[] }> {
  const out = new Map<string, { group: string; version: string; resources: ResourceInfo[] }>();
  for (const r of RESOURCES) {
    const key = apiVersionOf(r);
    if (!out.has(key)) out.set(key, { group: r.group, version: r.version, resources: [] });
    out.get(key)!.resources.push(r);
  }
  const order = [...new Set([...out.values()].map((g) => g.group))];
  return [...out.values()].sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group) || compareVersions(a.version, b.version));
}

/** Kubernetes' version priority: GA, then beta, then alpha, higher numbers first; other names last, by name. */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0, v] as const;
    return [m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2, -Number(m[1]), -Number(m[3] ?? 0), v] as const;
  };
  const x = rank(a), y = rank(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x[3].localeCompare(y[3]);
}

/** Each group with its versions, the preferred one first. */
function byGroup(): Array<{ group: string; versions: Array<{ group: string; version: string; resources: ResourceInfo[] }> }> {
  const out = new Map<string, Array<{ group: string; version: string; resources: ResourceInfo[] }>>();
  for (const g of groups()) { if (!out.has(g.group)) out.set(g.group, []); out.get(g.group)!.push(g); }
  return [...out].map(([group, versions]) => ({ group, versions }));
}

/** A group's resources in discovery: the stored ones, and for core v1 the computed componentstatuses. */
const discovered = (g: { group: string; resources: ResourceInfo[] }) => (g.group === '' ? [...g.resources, COMPONENT_STATUSES] : g.resources);
const verbsOf = (r: ResourceInfo) => (r === COMPONENT_STATUSES ? COMPONENT_STATUS_VERBS : r.verbs ?? STANDARD_VERBS);

function aggregatedGroup(g: { group: string; versions: Array<{ group: string; version: string; resources: ResourceInfo[] }> }): Obj {
  return {
    metadata: { name: g.group, creationTimestamp: null },
    versions: g.versions.map((gv) => ({
      version: gv.version,
      freshness: 'Current',
      resources: discovered(gv).map((r) => ({
        resource: r.resource,
        responseKind: { group: r.group, version: r.version, kind: r.kind },
        scope: r.namespaced ? 'Namespaced' : 'Cluster',
        singularResource: r.singular,
        verbs: verbsOf(r),
        ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
        ...(r.categories.length ? { categories: r.categories } : {}),
        subresources: r.subresources.map((s) => {
          const si = subresourceInfo(r, s);
          return { subresource: s, responseKind: { group: si.group, version: si.version, kind: si.kind }, verbs: si.verbs };
        }),
      })),
    })),
  };
}

/** The aggregated discovery version the client asked for first, if any (v2 or v2beta1). */
export function aggregatedVersion(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const part of (accept ?? '').split(',')) {
    if (!/g=apidiscovery\.k8s\.io/.test(part) || !/as=APIGroupDiscoveryList/.test(part)) continue;
    const v = /v=(v2beta1|v2)\b/.exec(part)?.[1];
    if (v === 'v2' || v === 'v2beta1') return v;
  }
  return undefined;
}

export function aggregatedDiscovery(core: boolean, version: 'v2' | 'v2beta1'): { body: Obj; contentType: string } {
  const items = byGroup().filter((g) => (g.group === '') === core).map(aggregatedGroup);
  return {
    body: { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items },
    contentType: `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`,
  };
}

export function apiVersions(serverAddress: string): Obj {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupObject(g: { group: string; versions: Array<{ version: string }> }): Obj {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.group}/${v.version}`, version: v.version }));
  return { name: g.group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): Obj {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: byGroup().filter((g) => g.group !== '').map(groupObject) };
}

export function apiGroup(group: string): Obj | undefined {
  const g = byGroup().find((x) => x.group === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupObject(g) } : undefined;
}

export function apiResourceList(group: string, version: string): Obj | undefined {
  const g = groups().find((x) => x.group === group && x.version === version);
  if (!g) return undefined;
  const resources: Obj[] = [];
  for (const r of discovered(g)) {
    resources.push({
      name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: verbsOf(r),
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    });
    for (const s of r.subresources) {
      const si = subresourceInfo(r, s);
      resources.push({
        name: `${r.resource}/${s}`, singularName: '', namespaced: r.namespaced,
        ...(si.group !== r.group || si.version !== r.version ? { group: si.group, version: si.version } : {}),
        kind: si.kind, verbs: si.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}
