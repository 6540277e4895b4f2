// The resourcequota controller (pkg/controller/resourcequota): every quota's status.hard is its spec.hard, and
// status.used what its namespace's objects use now (terminal pods no compute), recounted from a fresh list when
// the quota changes, when a pod, Service, claim, ConfigMap, Secret or ReplicationController of its namespace goes
// away (or a pod ends, a Service or claim changes), and every five minutes
// (--resource-quota-sync-period). The admission plugin charges creates in between; this is what corrects it.
import type { KubeObject } from '../../api/types.ts';
import { ignoredByQuota, legacyCountResource, matchesScopes, matchingResources as matchingNames, parseCountName, usageOf } from '../../api/quota/evaluators.ts';
import { addAmounts, emptyAmounts, mask, toList } from '../../api/quota/resources.ts';
import type { ResourceKey } from '../../client/api-client.ts';
import { keyOf } from '../../client/informer.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';

export const RESOURCE_QUOTA_SYNC_PERIOD_MS = 5 * 60 * 1000;

type Obj = Record<string, any>;

/** The kinds a quota's names are counted over: pods for requests.cpu, apps/deployments for count/deployments.apps … */
export function kindsFor(hard: string[]): ResourceKey[] {
  const out = new Map<string, ResourceKey>();
  const add = (group: string, resource: string) => out.set(`${group}/${resource}`, { group, resource });
  for (const n of hard) {
    const c = parseCountName(n);
    if (c) { if (!ignoredByQuota(c.group, c.resource)) add(c.group, c.resource); continue; }
    const legacy = legacyCountResource(n);
    if (legacy) { add('', legacy); continue; }
    for (const r of ['pods', 'services', 'persistentvolumeclaims']) if (matchingNames({ group: '', resource: r }, [n]).length) add('', r);
  }
  return [...out.values()];
}

/** CalculateUsage: the quota's names over these objects, every name a kind can use present (0 when unused). */
export function usageFor(quota: KubeObject, objects: Array<{ kind: ResourceKey; items: KubeObject[] }>, nowMs = Date.now()): Record<string, string> {
  const hard = Object.keys(quota.spec?.hard ?? {});
  let used = emptyAmounts();
  for (const { kind, items } of objects) {
    for (const n of matchingNames(kind, hard)) used.values[n] ??= 0;
    for (const o of items) {
      if (!matchesScopes(quota.spec?.scopes, kind.resource, o)) continue;
      used = addAmounts(used, mask(usageOf(kind.group, kind.resource, o, nowMs), hard));
    }
  }
  return toList(used);
}

const sameList = (a: Obj | undefined, b: Obj) => JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b).sort());

export function newResourceQuotaController(ctx: ControllerContext): Controller {
  const { client } = ctx;
  const quotas = ctx.informers.get('resourcequotas');
  const queue = newQueue();
  quotas.addHandlers({ onAdd: (q) => queue.add(keyOf(q)), onUpdate: (o, n) => { if (JSON.stringify(o.spec) !== JSON.stringify(n.spec) || !n.status?.used) queue.add(keyOf(n)); } });
  const inNamespace = (o: KubeObject) => { for (const q of quotas.byIndex('byNamespace', o.metadata.namespace ?? '')) queue.add(keyOf(q)); };
  // Replenishment: what is gone, or has stopped using compute, frees its share.
  for (const name of ['configmaps', 'secrets', 'replicationcontrollers'] as const) ctx.informers.get(name).addHandlers({ onDelete: inNamespace });
  for (const name of ['pods', 'services', 'persistentvolumeclaims'] as const) {
    ctx.informers.get(name).addHandlers({
      onDelete: inNamespace,
      onUpdate: (o, n) => { if (o.status?.phase !== n.status?.phase || (!o.metadata.deletionTimestamp && n.metadata.deletionTimestamp) || JSON.stringify(o.spec) !== JSON.stringify(n.spec)) inNamespace(n); },
    });
  }

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const quota = quotas.get(name, namespace);
    if (!quota) return;
    const hard: Obj = quota.spec?.hard ?? {};
    const objects = [];
    for (const kind of kindsFor(Object.keys(hard))) {
      try {
        objects.push({ kind, items: (await client.list(kind, namespace)).items });
      } catch (err) {
        // count/<resource> of a kind this cluster does not serve: nothing of it can exist.
        if ((err as { code?: string }).code !== 'NotFound') throw err;
      }
    }
    const used = usageFor(quota, objects);
    if (sameList(quota.status?.hard, hard) && sameList(quota.status?.used, used)) return;
    await client.updateStatus(R.resourcequotas, namespace, { ...quota, status: { hard, used } });
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await new Promise((resolve) => { const t = setTimeout(resolve, RESOURCE_QUOTA_SYNC_PERIOD_MS); signal.addEventListener('abort', () => { clearTimeout(t); resolve(undefined); }, { once: true }); });
      for (const q of quotas.list()) queue.add(keyOf(q));
    }
  }

  return { name: 'resourcequota', queue, reconcile, run, workers: 2 };
}
