// Ephemeral containers (kubectl debug), as Kubernetes validates them: in any pod spec (validateEphemeralContainers)
// and on a write to the pods/ephemeralcontainers subresource (ValidatePodEphemeralContainersUpdate): they may only
// be added — an existing one is never changed or removed.
import { fieldDuplicate, fieldForbidden, type FieldError } from '../errors.ts';

type Obj = Record<string, any>;

/** Container fields an ephemeral container may not set: it must not be relied on to serve the pod. Kubernetes checks
 *  for a non-zero Go value: a pointer field (probes, lifecycle, restartPolicy) is set as soon as it is present, a list
 *  or struct (ports, resources, …) once it has content — `resources: {}` is what defaulting gives every container. */
const POINTERS = ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'restartPolicy'];
const VALUES = ['ports', 'resources', 'resizePolicy', 'restartPolicyRules'];
const FORBIDDEN = 'cannot be set for an Ephemeral Container';

const present = (v: unknown) => v !== undefined && v !== null;
const nonEmpty = (v: unknown) => present(v) && !(Array.isArray(v) && v.length === 0)
  && !(typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every((x) => !present(x)));

/** What is wrong with spec.ephemeralContainers beyond the checks every container gets (validateContainers does those). */
export function validateEphemeralContainers(path: string, spec: Obj, errs: FieldError[]): void {
  const list = spec.ephemeralContainers;
  if (!Array.isArray(list)) return;
  const others = new Set<string>([...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c: Obj) => c?.name));
  const all = new Set(others);
  list.forEach((ec: Obj, i: number) => {
    if (typeof ec !== 'object' || ec === null) return;
    const p = `${path}[${i}]`;
    // Unique across every kind of container (duplicates among ephemeral ones are caught with the common checks).
    if (others.has(ec.name)) errs.push(fieldDuplicate(`${p}.name`, ec.name));
    all.add(ec.name);
    if (ec.targetContainerName && !others.has(ec.targetContainerName)) {
      errs.push({ type: 'FieldValueNotFound', field: `${p}.targetContainerName`, detail: `Not found: ${JSON.stringify(ec.targetContainerName)}` });
    }
    // In Kubernetes' field order (the Container struct's).
    for (const f of ['ports', 'resources', 'resizePolicy', 'restartPolicy', 'restartPolicyRules', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle']) {
      if (POINTERS.includes(f) ? present(ec[f]) : VALUES.includes(f) && nonEmpty(ec[f])) errs.push(fieldForbidden(`${p}.${f}`, FORBIDDEN));
    }
    (Array.isArray(ec.volumeMounts) ? ec.volumeMounts : []).forEach((vm: Obj, j: number) => {
      if (vm?.subPath) errs.push(fieldForbidden(`${p}.volumeMounts[${j}].subPath`, FORBIDDEN));
      if (vm?.subPathExpr) errs.push(fieldForbidden(`${p}.volumeMounts[${j}].subPathExpr`, FORBIDDEN));
    });
  });
}

/** The changes a pods/ephemeralcontainers write may make: additions only (the rest of the pod comes from the stored one). */
export function validateEphemeralContainersUpdate(pod: Obj, old: Obj): FieldError[] {
  if (old.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) return [fieldForbidden('', 'static pods do not support ephemeral containers')];
  const errs: FieldError[] = [];
  const next = new Map<string, Obj>((pod.spec?.ephemeralContainers ?? []).map((c: Obj) => [c?.name, c]));
  for (const was of old.spec?.ephemeralContainers ?? []) {
    const now = next.get(was.name);
    if (!now) errs.push(fieldForbidden('spec.ephemeralContainers', `existing ephemeral containers ${JSON.stringify(was.name)} may not be removed\n`));
    else if (canonical(now) !== canonical(was)) {
      errs.push(fieldForbidden('spec.ephemeralContainers', `existing ephemeral containers ${JSON.stringify(was.name)} may not be changed\n${changes(was, now)}`));
    }
  }
  return errs;
}

/** JSON with sorted keys, so that field order does not count as a change. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().filter((k) => (v as Obj)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Obj)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** Which top-level fields differ, one "- old / + new" pair each (Kubernetes prints a go-cmp diff here). */
function changes(was: Obj, now: Obj): string {
  const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
  return keys.filter((k) => canonical(was[k]) !== canonical(now[k]))
    .map((k) => `  - ${k}: ${canonical(was[k]) ?? '<unset>'}\n  + ${k}: ${canonical(now[k]) ?? '<unset>'}`).join('\n');
}
