// Services (pkg/registry/core/service): defaults, validation, ClusterIP and nodePort allocation on create and
// update and their release on delete (service-allocation.ts), what a type change clears, kubectl's columns.
import { fieldDuplicate, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from '../../api/errors.ts';
import { dns1123Label, dns1123Subdomain, labelValue, qualifiedName } from '../../api/names.ts';
import { isObj, portRange } from '../../api/validation/index.ts';
import type { Kind } from './kind.ts';
import { age, externalIP, mapSelector, orNone, servicePorts } from './printing.ts';
import { allocateForCreate, allocateForUpdate, dropTypeDependentFields, releaseAll, releaseAllocation } from './service-allocation.ts';

type Obj = Record<string, any>;

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const s = o.spec;
  if (!isObj(s)) return [fieldRequired('spec')];
  const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
  if (!types.includes(s.type)) errs.push(fieldNotSupported('spec.type', s.type, types));
  if (s.type === 'ExternalName') {
    if (!s.externalName) errs.push(fieldRequired('spec.externalName'));
    else for (const e of dns1123Subdomain(String(s.externalName).replace(/\.$/, ''))) errs.push(fieldInvalid('spec.externalName', s.externalName, e));
    return errs;
  }
  const ports = s.ports;
  const headless = s.clusterIP === 'None';
  if (!Array.isArray(ports) || ports.length === 0) {
    if (!headless) errs.push(fieldRequired('spec.ports'));
  } else {
    const names = new Set<string>();
    ports.forEach((p: Obj, i: number) => {
      const pp = `spec.ports[${i}]`;
      if (!isObj(p)) { errs.push(fieldInvalid(pp, p, 'must be an object')); return; }
      if (ports.length > 1 && !p.name) errs.push(fieldRequired(`${pp}.name`));
      if (p.name) {
        for (const e of dns1123Label(String(p.name))) errs.push(fieldInvalid(`${pp}.name`, p.name, e));
        if (names.has(p.name)) errs.push(fieldDuplicate(`${pp}.name`, p.name));
        names.add(p.name);
      }
      portRange(`${pp}.port`, p.port, errs);
      if (typeof p.targetPort === 'number') portRange(`${pp}.targetPort`, p.targetPort, errs);
      else if (typeof p.targetPort === 'string') for (const e of dns1123Label(p.targetPort)) errs.push(fieldInvalid(`${pp}.targetPort`, p.targetPort, e));
      if (!['TCP', 'UDP', 'SCTP'].includes(p.protocol)) errs.push(fieldNotSupported(`${pp}.protocol`, p.protocol, ['SCTP', 'TCP', 'UDP']));
      if (p.nodePort !== undefined && s.type === 'ClusterIP') errs.push(fieldForbidden(`${pp}.nodePort`, 'may not be used when `type` is \'ClusterIP\''));
    });
  }
  if (s.selector !== undefined && !isObj(s.selector)) errs.push(fieldInvalid('spec.selector', s.selector, 'must be a map'));
  else for (const [k, v] of Object.entries((s.selector ?? {}) as Obj)) {
    for (const e of qualifiedName(k)) errs.push(fieldInvalid('spec.selector', k, e));
    for (const e of labelValue(String(v))) errs.push(fieldInvalid('spec.selector', v, e));
  }
  const aff = ['ClientIP', 'None'];
  if (!aff.includes(s.sessionAffinity)) errs.push(fieldNotSupported('spec.sessionAffinity', s.sessionAffinity, aff));
  return errs;
}

export const services: Kind = {
  nameRule: 'dns1035Label',
  defaults(o) {
    const s = (o.spec ??= {});
    s.type ??= 'ClusterIP';
    s.sessionAffinity ??= 'None';
    if (s.type !== 'ExternalName') s.internalTrafficPolicy ??= 'Cluster';
    if (s.type === 'NodePort' || s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster';
    for (const p of s.ports ?? []) {
      if (!p || typeof p !== 'object') continue;
      p.protocol ??= 'TCP';
      if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    }
  },
  prepareForCreate(obj) { obj.status = { loadBalancer: {} }; },
  prepareForUpdate: (next, stored) => dropTypeDependentFields(next, stored),
  validate,
  async allocate(env, obj, dryRun) {
    const a = await allocateForCreate(env.allocator, obj, dryRun);
    return { undo: () => releaseAllocation(env.allocator, a), commit: async () => {} };
  },
  async reallocate(env, next, stored) {
    const r = await allocateForUpdate(env.allocator, next, stored);
    return { undo: () => releaseAllocation(env.allocator, r.alloc), commit: r.release };
  },
  release: (env, gone) => releaseAll(env.allocator, gone),
  printer: {
    columns: [{ name: 'Type' }, { name: 'Cluster-IP' }, { name: 'External-IP' }, { name: 'Port(s)' }, { name: 'Age' }, { name: 'Selector', priority: 1 }],
    cells: (o) => [o.spec?.type ?? 'ClusterIP', orNone(o.spec?.clusterIP), externalIP(o), servicePorts(o), age(o.metadata.creationTimestamp), mapSelector(o.spec?.selector)],
  },
};
