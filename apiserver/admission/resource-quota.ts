// ResourceQuota (plugin/pkg/admission/resourcequota): a create is charged to every quota of its namespace that
// tracks what it uses, and refused with a 403 when that would exceed one. The charge is written into the quota's
// status.used by compare-and-swap on its resourceVersion before the object is stored, so concurrent creates see
// each other's charges (a conflict re-reads the quota and checks again, as Kubernetes' quota evaluator does); the
// resourcequota controller later recounts from what is stored. Runs in the validating phase, last.
import { ApiError, isConflict } from '../../api/errors.ts';
import { ignoredByQuota, matchesScopes, matchingResources, podConstraints, usageOf } from '../../api/quota/evaluators.ts';
import { addAmounts, amountsOf, mask, prettyPrint, toList, type Amounts } from '../../api/quota/resources.ts';
import { findResource, storagePrefix, type ResourceInfo } from '../../api/resources.ts';
import type { KubeObject } from '../../api/types.ts';
import type { Store } from '../storage/store.ts';
import { forbidden } from './limit-ranger.ts';
import type { AdmissionPlugin } from './types.ts';

const RQ = findResource('', 'resourcequotas')!;
const RETRIES = 10;

/** What one quota makes of the charge: the quota with its new usage, nothing (not concerned), or the refusal. */
export function charge(q: KubeObject, info: ResourceInfo, obj: KubeObject, usage: Amounts): KubeObject | undefined {
  const hard: Record<string, string> = q.status?.hard ?? {};
  const hardNames = Object.keys(hard);
  const restricted = matchingResources(info, hardNames);
  if (!restricted.length || !matchesScopes(q.spec?.scopes, info.resource, obj)) return undefined;
  const name = q.metadata.name!;
  if (info.group === '' && info.resource === 'pods') {
    const missing = podConstraints(restricted, obj);
    if (missing) throw forbidden(info.resource, obj, [`failed quota: ${name}: ${missing}`]);
  }
  const used: Record<string, string> = q.status?.used ?? {};
  const unknown = restricted.filter((r) => used[r] === undefined);
  if (unknown.length) throw forbidden(info.resource, obj, [`status unknown for quota: ${name}, resources: ${unknown.sort().join(',')}`]);
  const requested = mask(usage, hardNames);
  if (!Object.keys(requested.values).length) return undefined;
  const newUsage = addAmounts(amountsOf(used), requested);
  const hardAmounts = amountsOf(hard);
  const exceeded = Object.keys(requested.values).filter((r) => newUsage.values[r]! > (hardAmounts.values[r] ?? 0) + 1e-12);
  if (exceeded.length) {
    const pick = (list: Record<string, unknown>) => Object.fromEntries(exceeded.map((r) => [r, list[r] ?? '0']));
    throw forbidden(info.resource, obj, [`exceeded quota: ${name}, requested: ${prettyPrint(pick(toList(requested)))}, used: ${prettyPrint(pick(used))}, limited: ${prettyPrint(pick(hard))}`]);
  }
  const next = structuredClone(q);
  next.status = { ...next.status, used: { ...used, ...toList(mask(newUsage, Object.keys(requested.values))) } };
  return next;
}

/** Charge `usage` to every quota of the namespace concerned: all checked, then written by CAS (a conflict checks again). */
async function chargeAll(store: Store, info: ResourceInfo, namespace: string, object: KubeObject, usage: Amounts, dryRun: boolean): Promise<void> {
  if (!Object.keys(usage.values).length) return;
  const written = new Set<string>();
  for (let attempt = 0; ; attempt++) {
    const { items } = await store.list(storagePrefix('/registry', RQ, namespace));
    const charged = items.filter((q) => !written.has(q.metadata.uid!))
      .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))
      .map((q) => charge(q, info, object, usage)).filter((q): q is KubeObject => q !== undefined);
    if (dryRun) return;
    try {
      for (const q of charged) {
        await store.update(storagePrefix('/registry', RQ, namespace) + q.metadata.name, q, Number(q.metadata.resourceVersion));
        written.add(q.metadata.uid!);
      }
      return;
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (attempt >= RETRIES) throw new ApiError('Conflict', 'Operation cannot be fulfilled on resourcequotas: the quota was changed too often; please try again');
    }
  }
}

/** What an update adds (SubtractWithNonNegativeResult): a Service that becomes a NodePort, a claim that grows. */
function growth(next: Amounts, prev: Amounts): Amounts {
  const out: Amounts = { values: {}, binary: next.binary };
  for (const [k, v] of Object.entries(next.values)) { const d = v - (prev.values[k] ?? 0); if (d > 0) out.values[k] = d; }
  return out;
}

/** The kinds whose updates can cost more (pods' resources cannot change here). */
const UPDATE_CHARGED = new Set(['services', 'persistentvolumeclaims']);

export function resourceQuota(store: Store): AdmissionPlugin {
  return {
    name: 'ResourceQuota',
    // Updates reach admission once validated (the registry's update path), so they are charged here.
    async admit({ operation, info, namespace, object, oldObject, dryRun }) {
      if (operation !== 'UPDATE' || info.group !== '' || !UPDATE_CHARGED.has(info.resource) || !namespace || !oldObject) return;
      const delta = growth(usageOf(info.group, info.resource, object), usageOf(info.group, info.resource, oldObject));
      await chargeAll(store, info, namespace, object, delta, dryRun);
    },
    async validate({ info, namespace, object, dryRun }) {
      if (!info.namespaced || !namespace || ignoredByQuota(info.group, info.resource)) return;
      await chargeAll(store, info, namespace, object, usageOf(info.group, info.resource, object), dryRun);
    },
  };
}
