// Validation helpers shared by the kinds (apiserver/kinds/): Kubernetes' rules (pkg/apis/*/validation) with its
// field paths and message texts — object metadata, pod specs and templates, label selectors, cron schedules.
// Each kind's own rules live in its file under apiserver/kinds/.
import {
  fieldDuplicate, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, type FieldError,
} from '../errors.ts';
import { dns1035Label, dns1123Label, dns1123Subdomain, envVarName, labelValue, qualifiedName } from '../names.ts';
import { parseQuantity, QUANTITY_FORMAT } from '../quantity.ts';
import { selectorFromLabelSelector } from '../selectors.ts';
import { validateEphemeralContainers } from './ephemeral-containers.ts';
import { validateClaimSpec } from './storage.ts';

type Obj = Record<string, any>;
type Errs = FieldError[];

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const fieldNotFound = (field: string, value: unknown): FieldError =>
  ({ type: 'FieldValueNotSupported', field, detail: `Not found: ${JSON.stringify(value)}` });
export const portRange = (field: string, v: unknown, errs: Errs) => {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) errs.push(fieldInvalid(field, v, 'must be between 1 and 65535, inclusive'));
};
const INT32_MAX = 2147483647;
/** A non-negative int32 (Kubernetes' counts and seconds are int32: 2^53 would make controllers allocate forever). */
export const nonNegative = (field: string, v: unknown, errs: Errs) => {
  if (v !== undefined && (!Number.isInteger(v) || (v as number) < 0)) errs.push(fieldInvalid(field, v, 'must be greater than or equal to 0'));
  else if (typeof v === 'number' && v > INT32_MAX) errs.push(fieldInvalid(field, v, `must be less than or equal to ${INT32_MAX}`));
};

export const MAX_SECRET_SIZE = 1024 * 1024;

// ---- metadata -----------------------------------------------------------------------------

/** path.IsValidPathSegmentName: any name that is one URL path segment (kinds whose names are free, e.g. CSRs). */
function pathSegment(v: string): string[] {
  if (v === '.' || v === '..') return [`may not be '${v}'`];
  return ['/', '%'].filter((c) => v.includes(c)).map((c) => `may not contain '${c}'`);
}

const NAME_RULES = { dns1123Subdomain, dns1123Label, dns1035Label, pathSegment };
export type NameRule = keyof typeof NAME_RULES;

/** ObjectMeta: the name (by the kind's rule), labels, annotations, finalizers. */
export function validateMeta(m: Obj | undefined, nameRule: NameRule = 'dns1123Subdomain'): FieldError[] {
  const errs: Errs = [];
  validateMetaInto(m, nameRule, errs);
  return errs;
}

function validateMetaInto(m: Obj | undefined, nameRule: NameRule, errs: Errs): void {
  if (!isObj(m)) { errs.push(fieldRequired('metadata')); return; }
  const name = m.name;
  if (typeof name !== 'string' || !name) errs.push(fieldRequired('metadata.name', 'name or generateName is required'));
  else {
    const check = NAME_RULES[nameRule];
    for (const e of check(name)) errs.push(fieldInvalid('metadata.name', name, e));
  }
  if (m.labels !== undefined) {
    if (!isObj(m.labels)) errs.push(fieldInvalid('metadata.labels', m.labels, 'must be a map of string keys to string values'));
    else for (const [k, v] of Object.entries(m.labels)) {
      for (const e of qualifiedName(k)) errs.push(fieldInvalid('metadata.labels', k, e));
      if (typeof v !== 'string') errs.push(fieldInvalid(`metadata.labels`, v, 'label values must be strings'));
      else for (const e of labelValue(v)) errs.push(fieldInvalid('metadata.labels', v, e));
    }
  }
  if (m.annotations !== undefined) {
    if (!isObj(m.annotations)) errs.push(fieldInvalid('metadata.annotations', m.annotations, 'must be a map of string keys to string values'));
    else {
      let size = 0;
      for (const [k, v] of Object.entries(m.annotations)) {
        for (const e of qualifiedName(k.toLowerCase())) errs.push(fieldInvalid('metadata.annotations', k, e));
        if (typeof v !== 'string') errs.push(fieldInvalid('metadata.annotations', v, 'annotation values must be strings'));
        size += k.length + String(v).length;
      }
      if (size > 256 * 1024) errs.push({ type: 'FieldValueTooLong', field: 'metadata.annotations', detail: 'Too long: may not be more than 262144 bytes' });
    }
  }
  if (m.finalizers !== undefined && !Array.isArray(m.finalizers)) errs.push(fieldInvalid('metadata.finalizers', m.finalizers, 'must be a list of strings'));
  else if (Array.isArray(m.finalizers)) {
    // apimachinery's ValidateFinalizerName: each a qualified name (e.g. example.com/cleanup or kubernetes).
    for (const f of m.finalizers) {
      if (typeof f !== 'string') errs.push(fieldInvalid('metadata.finalizers', f, 'must be a string'));
      else for (const e of qualifiedName(f)) errs.push(fieldInvalid('metadata.finalizers', f, e));
    }
  }
}

// ---- pods ---------------------------------------------------------------------------------

function validateResources(path: string, r: Obj | undefined, errs: Errs): void {
  if (r === undefined) return;
  if (!isObj(r)) { errs.push(fieldInvalid(path, r, 'must be an object')); return; }
  const parsed: Record<string, Record<string, number | undefined>> = {};
  for (const kind of ['limits', 'requests']) {
    parsed[kind] = {};
    for (const [name, q] of Object.entries((r[kind] ?? {}) as Obj)) {
      const v = parseQuantity(q);
      if (v === undefined) errs.push(fieldInvalid(`${path}.${kind}[${name}]`, q, QUANTITY_FORMAT));
      else if (v < 0) errs.push(fieldInvalid(`${path}.${kind}[${name}]`, q, 'must be greater than or equal to 0'));
      parsed[kind][name] = v;
    }
  }
  for (const [name, req] of Object.entries(parsed.requests)) {
    const lim = parsed.limits[name];
    if (req !== undefined && lim !== undefined && req > lim) {
      errs.push(fieldInvalid(`${path}.requests`, r.requests[name], `must be less than or equal to ${name} limit of ${r.limits[name]}`));
    }
  }
}

function validateProbe(path: string, p: Obj | undefined, errs: Errs): void {
  if (p === undefined) return;
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => p[h] !== undefined);
  if (handlers.length === 0) errs.push(fieldRequired(path, 'must specify a handler type'));
  if (handlers.length > 1) errs.push(fieldForbidden(`${path}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) nonNegative(`${path}.${f}`, p[f], errs);
}

function validateContainers(path: string, list: unknown, volumes: Set<string>, errs: Errs, required: boolean): void {
  if (list === undefined || (Array.isArray(list) && list.length === 0)) {
    if (required) errs.push(fieldRequired(path));
    return;
  }
  if (!Array.isArray(list)) { errs.push(fieldInvalid(path, list, 'must be a list of containers')); return; }
  const names = new Set<string>();
  list.forEach((c: unknown, i: number) => {
    const p = `${path}[${i}]`;
    if (!isObj(c)) { errs.push(fieldInvalid(p, c, 'must be an object')); return; }
    if (!c.name) errs.push(fieldRequired(`${p}.name`));
    else if (typeof c.name !== 'string') errs.push(fieldInvalid(`${p}.name`, c.name, 'must be a string'));
    else {
      for (const e of dns1123Label(c.name)) errs.push(fieldInvalid(`${p}.name`, c.name, e));
      if (names.has(c.name)) errs.push(fieldDuplicate(`${p}.name`, c.name));
      names.add(c.name);
    }
    if (!c.image || typeof c.image !== 'string' || !c.image.trim()) errs.push(fieldRequired(`${p}.image`));
    if (c.command !== undefined && !Array.isArray(c.command)) errs.push(fieldInvalid(`${p}.command`, c.command, 'must be a list of strings'));
    if (c.args !== undefined && !Array.isArray(c.args)) errs.push(fieldInvalid(`${p}.args`, c.args, 'must be a list of strings'));
    if (c.ports !== undefined) {
      if (!Array.isArray(c.ports)) errs.push(fieldInvalid(`${p}.ports`, c.ports, 'must be a list'));
      else c.ports.forEach((port: Obj, j: number) => {
        const pp = `${p}.ports[${j}]`;
        if (!isObj(port)) { errs.push(fieldInvalid(pp, port, 'must be an object')); return; }
        portRange(`${pp}.containerPort`, port.containerPort, errs);
        if (port.hostPort !== undefined && port.hostPort !== 0) portRange(`${pp}.hostPort`, port.hostPort, errs);
        if (port.protocol && !['TCP', 'UDP', 'SCTP'].includes(port.protocol)) errs.push(fieldNotSupported(`${pp}.protocol`, port.protocol, ['SCTP', 'TCP', 'UDP']));
      });
    }
    if (c.env !== undefined) {
      if (!Array.isArray(c.env)) errs.push(fieldInvalid(`${p}.env`, c.env, 'must be a list'));
      else c.env.forEach((e: Obj, j: number) => {
        if (!isObj(e) || !e.name) { errs.push(fieldRequired(`${p}.env[${j}].name`)); return; }
        for (const m of envVarName(String(e.name))) errs.push(fieldInvalid(`${p}.env[${j}].name`, e.name, m));
      });
    }
    if (c.volumeMounts !== undefined) {
      if (!Array.isArray(c.volumeMounts)) errs.push(fieldInvalid(`${p}.volumeMounts`, c.volumeMounts, 'must be a list'));
      else c.volumeMounts.forEach((vm: Obj, j: number) => {
        const vp = `${p}.volumeMounts[${j}]`;
        if (!isObj(vm)) return;
        if (!vm.name) errs.push(fieldRequired(`${vp}.name`));
        else if (!volumes.has(vm.name)) errs.push(fieldNotFound(`${vp}.name`, vm.name));
        if (!vm.mountPath) errs.push(fieldRequired(`${vp}.mountPath`));
        // Kubernetes' validateLocalDescendingPath: a subPath stays inside its volume.
        for (const f of ['subPath', 'subPathExpr'] as const) {
          const v = vm[f];
          if (v === undefined || v === '') continue;
          if (typeof v !== 'string') { errs.push(fieldInvalid(`${vp}.${f}`, v, 'must be a string')); continue; }
          if (v.startsWith('/')) errs.push(fieldInvalid(`${vp}.${f}`, v, 'must be a relative path'));
          if (v.split(/[\\/]/).includes('..')) errs.push(fieldInvalid(`${vp}.${f}`, v, "must not contain '..'"));
        }
        if (vm.subPath && vm.subPathExpr) errs.push(fieldInvalid(`${vp}.subPathExpr`, vm.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
      });
    }
    validateResources(`${p}.resources`, c.resources, errs);
    validateProbe(`${p}.livenessProbe`, c.livenessProbe, errs);
    validateProbe(`${p}.readinessProbe`, c.readinessProbe, errs);
    validateProbe(`${p}.startupProbe`, c.startupProbe, errs);
    if (c.imagePullPolicy && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy)) {
      errs.push(fieldNotSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']));
    }
  });
}

/** `claimTemplates`: a StatefulSet's volumeClaimTemplates names, which its containers may mount too. */
/** validateProjectionSources' serviceAccountToken checks. */
function validateTokenProjection(tp: string, t: Obj, errs: FieldError[]): void {
  const exp = t.expirationSeconds;
  if (typeof exp === 'number' && exp < 600) errs.push(fieldInvalid(`${tp}.expirationSeconds`, exp, 'may not specify a duration less than 10 minutes'));
  if (typeof exp === 'number' && exp > 2 ** 32) errs.push(fieldInvalid(`${tp}.expirationSeconds`, exp, 'may not specify a duration larger than 2^32 seconds'));
  const p = t.path;
  if (typeof p !== 'string' || !p) { errs.push(fieldRequired(`${tp}.path`)); return; }
  if (p.startsWith('/')) errs.push(fieldInvalid(`${tp}.path`, p, 'must be a relative path'));
  if (p.split('/').includes('..')) errs.push(fieldInvalid(`${tp}.path`, p, "must not contain '..'"));
  if (p.startsWith('..')) errs.push(fieldInvalid(`${tp}.path`, p, "must not start with '..'"));
}

export function validatePodSpec(path: string, spec: unknown, errs: Errs, allowedRestart?: string[], claimTemplates: string[] = []): void {
  if (!isObj(spec)) { errs.push(spec === undefined ? fieldRequired(`${path}.containers`) : fieldInvalid(path, spec, 'must be an object')); return; }
  const volumes = new Set<string>(claimTemplates);
  if (spec.volumes !== undefined) {
    if (!Array.isArray(spec.volumes)) errs.push(fieldInvalid(`${path}.volumes`, spec.volumes, 'must be a list'));
    else spec.volumes.forEach((v: Obj, i: number) => {
      const vp = `${path}.volumes[${i}]`;
      if (!isObj(v) || !v.name) { errs.push(fieldRequired(`${vp}.name`)); return; }
      for (const e of dns1123Label(v.name)) errs.push(fieldInvalid(`${vp}.name`, v.name, e));
      if (volumes.has(v.name)) errs.push(fieldDuplicate(`${vp}.name`, v.name));
      volumes.add(v.name);
      if (v.persistentVolumeClaim !== undefined && !(isObj(v.persistentVolumeClaim) && v.persistentVolumeClaim.claimName)) errs.push(fieldRequired(`${vp}.persistentVolumeClaim.claimName`));
      if (v.ephemeral !== undefined) {
        const t = isObj(v.ephemeral) ? v.ephemeral.volumeClaimTemplate : undefined;
        if (!isObj(t)) errs.push(fieldRequired(`${vp}.ephemeral.volumeClaimTemplate`));
        else validateClaimSpec(`${vp}.ephemeral.volumeClaimTemplate.spec`, t.spec, errs);
      }
      // Kubernetes' validateLocalNonReservedPath for the files a data volume writes.
      const itemLists: Array<[string, unknown]> = [[`${vp}.configMap.items`, v.configMap?.items], [`${vp}.secret.items`, v.secret?.items], [`${vp}.downwardAPI.items`, v.downwardAPI?.items]];
      (Array.isArray(v.projected?.sources) ? v.projected.sources : []).forEach((src: Obj, j: number) => {
        for (const k of ['configMap', 'secret', 'downwardAPI']) if (isObj(src?.[k])) itemLists.push([`${vp}.projected.sources[${j}].${k}.items`, src[k].items]);
        if (isObj(src?.serviceAccountToken)) validateTokenProjection(`${vp}.projected.sources[${j}].serviceAccountToken`, src.serviceAccountToken, errs);
      });
      for (const [ip, items] of itemLists) {
        if (!Array.isArray(items)) continue;
        items.forEach((it: Obj, k: number) => {
          const p = it?.path;
          if (typeof p !== 'string' || !p) { errs.push(fieldRequired(`${ip}[${k}].path`)); return; }
          if (p.startsWith('/')) errs.push(fieldInvalid(`${ip}[${k}].path`, p, 'must be a relative path'));
          if (p.split('/').includes('..')) errs.push(fieldInvalid(`${ip}[${k}].path`, p, "must not contain '..'"));
          if (p.startsWith('..')) errs.push(fieldInvalid(`${ip}[${k}].path`, p, "must not start with '..'"));
        });
      }
    });
  }
  validateContainers(`${path}.containers`, spec.containers, volumes, errs, true);
  validateContainers(`${path}.initContainers`, spec.initContainers, volumes, errs, false);
  validateContainers(`${path}.ephemeralContainers`, spec.ephemeralContainers, volumes, errs, false);
  validateEphemeralContainers(`${path}.ephemeralContainers`, spec, errs);
  if (Array.isArray(spec.initContainers)) {
    const appNames = new Set((Array.isArray(spec.containers) ? spec.containers : []).map((c: Obj) => c?.name));
    spec.initContainers.forEach((c: Obj, i: number) => {
      if (!isObj(c)) return;
      const p = `${path}.initContainers[${i}]`;
      if (appNames.has(c.name)) errs.push(fieldDuplicate(`${p}.name`, c.name));
      // Only sidecars (restartPolicy Always) may be probed; no other restartPolicy exists for a container.
      if (c.restartPolicy !== undefined && c.restartPolicy !== 'Always') errs.push(fieldNotSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']));
      if (c.restartPolicy !== 'Always') {
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
          if (c[probe] !== undefined) errs.push(fieldForbidden(`${p}.${probe}`, 'may not be set for init containers without restartPolicy=Always'));
        }
      }
    });
  }
  if (Array.isArray(spec.containers)) {
    spec.containers.forEach((c: Obj, i: number) => {
      if (isObj(c) && c.restartPolicy !== undefined) errs.push(fieldForbidden(`${path}.containers[${i}].restartPolicy`, 'may not be set for non-init containers'));
    });
  }
  const policies = ['Always', 'OnFailure', 'Never'];
  if (spec.restartPolicy !== undefined && !policies.includes(spec.restartPolicy)) {
    errs.push(fieldNotSupported(`${path}.restartPolicy`, spec.restartPolicy, policies));
  } else if (allowedRestart && !allowedRestart.includes(spec.restartPolicy)) {
    errs.push(fieldNotSupported(`${path}.restartPolicy`, spec.restartPolicy, allowedRestart));
  }
  const dns = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (spec.dnsPolicy !== undefined && !dns.includes(spec.dnsPolicy)) errs.push(fieldNotSupported(`${path}.dnsPolicy`, spec.dnsPolicy, dns));
  nonNegative(`${path}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, errs);
  if (spec.activeDeadlineSeconds !== undefined && !(Number.isInteger(spec.activeDeadlineSeconds) && spec.activeDeadlineSeconds > 0)) {
    errs.push(fieldInvalid(`${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }
  if (spec.nodeSelector !== undefined && !isObj(spec.nodeSelector)) errs.push(fieldInvalid(`${path}.nodeSelector`, spec.nodeSelector, 'must be a map'));
  if (spec.tolerations !== undefined && !Array.isArray(spec.tolerations)) errs.push(fieldInvalid(`${path}.tolerations`, spec.tolerations, 'must be a list'));
  validateSchedulingGates(path, spec, errs);
  validatePodAffinity(path, spec, errs);
  validateTopologySpread(path, spec, errs);
}

const NODE_INCLUSION_POLICIES = ['Honor', 'Ignore'];
const NOT_POSITIVE = 'must be greater than zero';

/** A label selector's keys and operators, as the scheduler reads it. */
function validatePlacementSelector(path: string, sel: unknown, errs: Errs): void {
  if (sel === undefined || sel === null) return;
  if (!isObj(sel)) { errs.push(fieldInvalid(path, sel, 'must be an object')); return; }
  validateSelectorKeys(path, sel, errs);
  (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []).forEach((e: Obj, i: number) => {
    if (isObj(e) && !['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) errs.push(fieldInvalid(`${path}.matchExpressions[${i}].operator`, e.operator, 'not a valid selector operator'));
  });
}

/** Pod (anti-)affinity terms (Kubernetes' validatePodAffinityTerm, validateWeightedPodAffinityTerms). */
function validatePodAffinity(path: string, spec: Obj, errs: Errs): void {
  const aff = spec.affinity;
  if (!isObj(aff)) return;
  const term = (p: string, t: Obj) => {
    if (!isObj(t)) { errs.push(fieldRequired(p)); return; }
    if (typeof t.topologyKey !== 'string' || !t.topologyKey) errs.push(fieldRequired(`${p}.topologyKey`, 'can not be empty'));
    else for (const e of qualifiedName(t.topologyKey)) errs.push(fieldInvalid(`${p}.topologyKey`, t.topologyKey, e));
    validatePlacementSelector(`${p}.labelSelector`, t.labelSelector, errs);
    validatePlacementSelector(`${p}.namespaceSelector`, t.namespaceSelector, errs);
    (Array.isArray(t.namespaces) ? t.namespaces : []).forEach((n: unknown, i: number) => {
      for (const e of dns1123Label(String(n))) errs.push(fieldInvalid(`${p}.namespaces[${i}]`, n, e));
    });
    for (const f of ['matchLabelKeys', 'mismatchLabelKeys']) {
      if (Array.isArray(t[f]) && t[f].length && !isObj(t.labelSelector)) errs.push(fieldForbidden(`${p}.${f}`, 'must not be specified when labelSelector is not set'));
    }
  };
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const a = aff[kind];
    if (!isObj(a)) continue;
    const base = `${path}.affinity.${kind}`;
    (Array.isArray(a.requiredDuringSchedulingIgnoredDuringExecution) ? a.requiredDuringSchedulingIgnoredDuringExecution : [])
      .forEach((t: Obj, i: number) => term(`${base}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`, t));
    (Array.isArray(a.preferredDuringSchedulingIgnoredDuringExecution) ? a.preferredDuringSchedulingIgnoredDuringExecution : [])
      .forEach((w: Obj, i: number) => {
        const p = `${base}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
        if (!isObj(w)) { errs.push(fieldRequired(p)); return; }
        if (!(Number.isInteger(w.weight) && w.weight >= 1 && w.weight <= 100)) errs.push(fieldInvalid(`${p}.weight`, w.weight, 'must be in the range 1-100'));
        term(`${p}.podAffinityTerm`, w.podAffinityTerm);
      });
  }
}

/** topologySpreadConstraints (Kubernetes' validateTopologySpreadConstraints). */
function validateTopologySpread(path: string, spec: Obj, errs: Errs): void {
  if (spec.topologySpreadConstraints === undefined) return;
  if (!Array.isArray(spec.topologySpreadConstraints)) { errs.push(fieldInvalid(`${path}.topologySpreadConstraints`, spec.topologySpreadConstraints, 'must be a list')); return; }
  const list: Obj[] = spec.topologySpreadConstraints;
  list.forEach((c, i) => {
    const p = `${path}.topologySpreadConstraints[${i}]`;
    if (!isObj(c)) { errs.push(fieldRequired(p)); return; }
    if (!(Number.isInteger(c.maxSkew) && c.maxSkew > 0)) errs.push(fieldInvalid(`${p}.maxSkew`, c.maxSkew, NOT_POSITIVE));
    if (typeof c.topologyKey !== 'string' || !c.topologyKey) errs.push(fieldRequired(`${p}.topologyKey`, 'can not be empty'));
    if (!['DoNotSchedule', 'ScheduleAnyway'].includes(c.whenUnsatisfiable)) errs.push(fieldNotSupported(`${p}.whenUnsatisfiable`, c.whenUnsatisfiable ?? '', ['DoNotSchedule', 'ScheduleAnyway']));
    // Reported at the first of a pair, as Kubernetes compares each with the ones after it.
    if (list.slice(i + 1).some((o) => isObj(o) && o.topologyKey === c.topologyKey && o.whenUnsatisfiable === c.whenUnsatisfiable)) {
      errs.push(fieldDuplicate(`${p}.{topologyKey, whenUnsatisfiable}`, `{${c.topologyKey}, ${c.whenUnsatisfiable}}`));
    }
    if (c.minDomains !== undefined && c.minDomains !== null) {
      if (!(Number.isInteger(c.minDomains) && c.minDomains > 0)) errs.push(fieldInvalid(`${p}.minDomains`, c.minDomains, NOT_POSITIVE));
      if (c.whenUnsatisfiable !== 'DoNotSchedule') errs.push(fieldInvalid(`${p}.minDomains`, c.minDomains, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${c.whenUnsatisfiable}`));
    }
    for (const f of ['nodeAffinityPolicy', 'nodeTaintsPolicy']) {
      if (c[f] !== undefined && c[f] !== null && !NODE_INCLUSION_POLICIES.includes(c[f])) errs.push(fieldNotSupported(`${p}.${f}`, c[f], NODE_INCLUSION_POLICIES));
    }
    validatePlacementSelector(`${p}.labelSelector`, c.labelSelector, errs);
  });
}

/** Gates: unique names (qualified names); a gated pod may not name its node (Kubernetes' validatePodSpec). */
function validateSchedulingGates(path: string, spec: Obj, errs: Errs): void {
  if (spec.schedulingGates === undefined) return;
  if (!Array.isArray(spec.schedulingGates)) { errs.push(fieldInvalid(`${path}.schedulingGates`, spec.schedulingGates, 'must be a list')); return; }
  const seen = new Set<string>();
  spec.schedulingGates.forEach((g: Obj, i: number) => {
    const p = `${path}.schedulingGates[${i}].name`;
    const name = isObj(g) ? g.name : undefined;
    if (typeof name !== 'string' || !name) { errs.push(fieldRequired(p)); return; }
    for (const e of qualifiedName(name)) errs.push(fieldInvalid(p, name, e));
    if (seen.has(name)) errs.push(fieldDuplicate(p, name));
    seen.add(name);
  });
  if (spec.schedulingGates.length && spec.nodeName) errs.push(fieldForbidden(`${path}.nodeName`, 'cannot be set until all schedulingGates have been cleared'));
}

// ---- workloads ----------------------------------------------------------------------------

const WORKLOAD_RESTART: Record<string, string[]> = {
  deployments: ['Always'], replicasets: ['Always'], daemonsets: ['Always'], statefulsets: ['Always'],
  replicationcontrollers: ['Always'], jobs: ['OnFailure', 'Never'],
};

/** apimachinery's ValidateLabelSelector: every key a qualified name, every matchLabels value a label value. */
function validateSelectorKeys(path: string, sel: Obj, errs: Errs): void {
  if (isObj(sel.matchLabels)) {
    for (const [k, v] of Object.entries(sel.matchLabels)) {
      for (const e of qualifiedName(k)) errs.push(fieldInvalid(`${path}.matchLabels`, k, e));
      if (typeof v === 'string') for (const e of labelValue(v)) errs.push(fieldInvalid(`${path}.matchLabels`, v, e));
    }
  }
  if (Array.isArray(sel.matchExpressions)) {
    sel.matchExpressions.forEach((e: Obj, i: number) => {
      if (isObj(e) && typeof e.key === 'string') for (const m of qualifiedName(e.key)) errs.push(fieldInvalid(`${path}.matchExpressions[${i}].key`, e.key, m));
    });
  }
}

export function validateTemplate(resource: string, path: string, spec: Obj, errs: Errs, selectorRequired = true, claimTemplates: string[] = []): void {
  const t = spec.template;
  if (!isObj(t)) { errs.push(fieldRequired(`${path}.template`)); return; }
  const labels = isObj(t.metadata) && isObj(t.metadata.labels) ? t.metadata.labels as Record<string, string> : {};
  if (resource === 'replicationcontrollers') {
    const sel = spec.selector;
    if (!isObj(sel) || Object.keys(sel).length === 0) errs.push(fieldRequired(`${path}.selector`));
    else if (!Object.entries(sel).every(([k, v]) => labels[k] === v)) {
      errs.push(fieldInvalid(`${path}.template.metadata.labels`, labels, '`selector` does not match template `labels`'));
    }
  } else if (selectorRequired || spec.selector !== undefined) {
    if (!isObj(spec.selector)) errs.push(fieldRequired(`${path}.selector`));
    else {
      const empty = !Object.keys(spec.selector.matchLabels ?? {}).length && !(spec.selector.matchExpressions ?? []).length;
      if (empty) errs.push(fieldInvalid(`${path}.selector`, spec.selector, 'empty selector is invalid for deployment'));
      validateSelectorKeys(`${path}.selector`, spec.selector, errs);
      if (!empty) {
        try {
          if (!selectorFromLabelSelector(spec.selector).matches(labels)) {
            errs.push(fieldInvalid(`${path}.template.metadata.labels`, labels, '`selector` does not match template `labels`'));
          }
        } catch (e) { errs.push(fieldInvalid(`${path}.selector`, spec.selector, (e as Error).message)); }
      }
    }
  }
  validatePodSpec(`${path}.template.spec`, t.spec, errs, WORKLOAD_RESTART[resource], claimTemplates);
}

const CRON_FIELD = /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?)*$/;
const CRON_RANGES: Array<[number, number]> = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];
const CRON_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec', 'sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export function cronScheduleError(schedule: string): string | undefined {
  if (/^(TZ|CRON_TZ)=/.test(schedule.trim())) return 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead';
  const s = schedule.trim();
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(s) || /^@every\s+\S+$/.test(s)) return undefined;
  const fields = s.split(/\s+/);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${JSON.stringify(s)}`;
  for (let i = 0; i < 5; i++) {
    const f = fields[i];
    if (!CRON_FIELD.test(f)) return `failed to parse int from ${f}`;
    for (const n of f.match(/[0-9A-Za-z]+/g) ?? []) {
      if (/^\d+$/.test(n)) {
        const after = f.split(n)[0];
        if (after.endsWith('/')) continue; // a step, not a value
        const [lo, hi] = CRON_RANGES[i];
        if (Number(n) < lo || Number(n) > hi) return `end of range (${n}) above maximum (${hi}): ${f}`;
      } else if (!CRON_NAMES.includes(n.toLowerCase())) return `failed to parse int from ${n}`;
    }
  }
  return undefined;
}

// ---- workloads' update strategies ----------------------------------------------------------

const PERCENT = /^[0-9]+%$/;
const PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/** Kubernetes' ValidatePositiveIntOrPercent + IsNotMoreThan100Percent; true when the value is zero. */
function intOrPercent(path: string, v: unknown, errs: Errs, max100: boolean): boolean {
  if (v === undefined) return false;
  if (typeof v === 'string') {
    if (!PERCENT.test(v)) { errs.push(fieldInvalid(path, v, PERCENT_MSG)); return false; }
    if (max100 && parseInt(v, 10) > 100) errs.push(fieldInvalid(path, v, 'must not be greater than 100%'));
    return parseInt(v, 10) === 0;
  }
  if (!Number.isInteger(v)) { errs.push(fieldInvalid(path, v, PERCENT_MSG)); return false; }
  if ((v as number) < 0) errs.push(fieldInvalid(path, v, 'must be greater than or equal to 0'));
  return v === 0;
}

function validateRollingUpdate(path: string, ru: Obj, errs: Errs): void {
  const surgeZero = intOrPercent(`${path}.maxSurge`, ru.maxSurge, errs, false);
  const unavailZero = intOrPercent(`${path}.maxUnavailable`, ru.maxUnavailable, errs, true);
  if (surgeZero && unavailZero) errs.push(fieldInvalid(`${path}.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
}

/** The spec of a Deployment, ReplicaSet, StatefulSet, DaemonSet or ReplicationController. */
export function validateWorkload(resource: string, o: Obj, errs: Errs): void {
  const s = o.spec;
  if (!isObj(s)) { errs.push(fieldRequired('spec')); return; }
  nonNegative('spec.replicas', s.replicas, errs);
  nonNegative('spec.minReadySeconds', s.minReadySeconds, errs);
  nonNegative('spec.revisionHistoryLimit', s.revisionHistoryLimit, errs);
  if (resource === 'deployments' && s.strategy?.type && !['RollingUpdate', 'Recreate'].includes(s.strategy.type)) {
    errs.push(fieldNotSupported('spec.strategy.type', s.strategy.type, ['Recreate', 'RollingUpdate']));
  }
  const ru = resource === 'deployments' ? s.strategy?.rollingUpdate : resource === 'daemonsets' ? s.updateStrategy?.rollingUpdate : undefined;
  if (isObj(ru)) validateRollingUpdate(resource === 'deployments' ? 'spec.strategy.rollingUpdate' : 'spec.updateStrategy.rollingUpdate', ru, errs);
  const claimTemplates: string[] = [];
  if (resource === 'statefulsets') validateClaimTemplates(s, errs, claimTemplates);
  validateTemplate(resource, 'spec', s, errs, true, claimTemplates);
}

/** A StatefulSet's volumeClaimTemplates (each a claim spec) and persistentVolumeClaimRetentionPolicy. */
function validateClaimTemplates(s: Obj, errs: Errs, names: string[]): void {
  if (s.volumeClaimTemplates !== undefined && !Array.isArray(s.volumeClaimTemplates)) { errs.push(fieldInvalid('spec.volumeClaimTemplates', s.volumeClaimTemplates, 'must be a list')); return; }
  (s.volumeClaimTemplates ?? []).forEach((t: Obj, i: number) => {
    const p = `spec.volumeClaimTemplates[${i}]`;
    const name = isObj(t) && isObj(t.metadata) ? t.metadata.name : undefined;
    if (!name) errs.push(fieldRequired(`${p}.metadata.name`));
    else names.push(String(name));
    validateClaimSpec(`${p}.spec`, isObj(t) ? t.spec : undefined, errs);
  });
  const policy = s.persistentVolumeClaimRetentionPolicy;
  for (const f of ['whenDeleted', 'whenScaled']) {
    const v = isObj(policy) ? policy[f] : undefined;
    if (v !== undefined && v !== 'Retain' && v !== 'Delete') errs.push(fieldNotSupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, v, ['Retain', 'Delete']));
  }
}

/** A pod spec may only change images, activeDeadlineSeconds and tolerations (additions). */
export function podSpecChange(spec: Obj, old: Obj): boolean {
  const strip = (s: Obj, images: Obj) => {
    const c = structuredClone(s);
    c.containers = (c.containers ?? []).map((x: Obj, i: number) => ({ ...x, image: images.containers?.[i]?.image }));
    c.initContainers = (c.initContainers ?? []).map((x: Obj, i: number) => ({ ...x, image: images.initContainers?.[i]?.image }));
    delete c.activeDeadlineSeconds; delete c.tolerations; delete c.schedulingGates; // gates: checked on their own
    return JSON.stringify(c);
  };
  if (strip(spec, old) !== strip(old, old)) return true;
  const oldTol = (old.tolerations ?? []).map((t: Obj) => JSON.stringify(t));
  const newTol = new Set((spec.tolerations ?? []).map((t: Obj) => JSON.stringify(t)));
  return oldTol.some((t: string) => !newTol.has(t));
}
