// The apiextensions controllers of one apiserver, over the store: every CustomResourceDefinition in etcd is
// watched; an established one's served versions become kinds of this apiserver (api/resources.ts) at once, its
// status says NamesAccepted and Established, and it carries the cleanup finalizer. A CRD being deleted stops taking
// creates (Terminating), its objects are deleted, then the finalizer goes and so does the CRD — as Kubernetes'
// finalizer controller does. Each apiserver runs this; their writes are idempotent.
import { RESOURCES, findResource, setCustomKinds, storagePrefix, type ResourceInfo } from '../../api/resources.ts';
import { now, type KubeObject } from '../../api/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Store } from '../storage/store.ts';
import { kindsOf } from '../../api/custom-kinds.ts';
import { recordUpdate } from '../patch/managed-fields.ts';

type Obj = Record<string, any>;
const PREFIX = '/registry';
export const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';
const RESOURCES_custom = () => RESOURCES.filter((r) => r.custom);
const CRDS = () => findResource('apiextensions.k8s.io', 'customresourcedefinitions')!;

function condition(type: string, reason: string, message: string, old: Obj[]): Obj {
  const prev = old.find((c) => c.type === type);
  return { type, status: 'True', lastTransitionTime: prev?.status === 'True' ? prev.lastTransitionTime : now(), reason, message };
}

export class CrdController {
  private closed = false;
  private watch: { close(): void } | undefined;
  private readonly cleaning = new Set<string>();

  constructor(private readonly store: Store, private readonly logger: Logger) {}

  start(): void {
    const run = async () => {
      while (!this.closed) {
        try {
          const prefix = storagePrefix(PREFIX, CRDS());
          const list = await this.store.list(prefix);
          const names = new Set(list.items.map((c) => c.metadata.name!));
          for (const info of [...RESOURCES_custom()]) if (!names.has(info.custom!.crd)) setCustomKinds(info.custom!.crd, []);
          for (const crd of list.items) await this.sync(crd);
          const w = this.store.watch(prefix, { fromRevision: list.revision });
          this.watch = w;
          for await (const ev of w) {
            if (ev.type === 'BOOKMARK') continue;
            if (ev.type === 'DELETED') setCustomKinds(ev.object.metadata.name!, []);
            else await this.sync(ev.object);
          }
        } catch (err) {
          if (!this.closed) this.logger.warn({ err: String(err) }, 'CRD controller: watch failed, re-listing');
        }
        if (!this.closed) await new Promise((r) => setTimeout(r, 500).unref());
      }
    };
    void run();
  }

  close(): void {
    this.closed = true;
    this.watch?.close();
  }

  private key(name: string): string { return `${storagePrefix(PREFIX, CRDS())}${name}`; }

  private async sync(crd: KubeObject): Promise<void> {
    const name = crd.metadata.name!;
    let kinds: ResourceInfo[];
    try { kinds = kindsOf(crd); } catch (err) {
      this.logger.warn({ crd: name, err: String(err) }, 'CRD controller: not servable');
      setCustomKinds(name, []);
      return;
    }
    if (crd.metadata.deletionTimestamp) {
      for (const k of kinds) k.custom!.terminating = true;
      setCustomKinds(name, kinds);
      void this.cleanUp(crd, kinds[0] ?? undefined);
      return;
    }
    setCustomKinds(name, kinds);
    const st: Obj = crd.status ?? {};
    const storage = crd.spec.versions.find((v: Obj) => v.storage)?.name;
    const established = (st.conditions ?? []).some((c: Obj) => c.type === 'Established' && c.status === 'True')
      && JSON.stringify(st.acceptedNames) === JSON.stringify(crd.spec.names) && (st.storedVersions ?? []).includes(storage)
      && crd.metadata.finalizers?.includes(CLEANUP_FINALIZER);
    if (established) return;
    await this.store.guaranteedUpdate(this.key(name), (cur) => {
      if (cur.metadata.deletionTimestamp) return cur;
      const before = structuredClone(cur);
      const old: Obj[] = cur.status?.conditions ?? [];
      cur.metadata.finalizers = [...new Set([...(cur.metadata.finalizers ?? []), CLEANUP_FINALIZER])];
      cur.status = {
        ...cur.status,
        conditions: [
          ...old.filter((c) => c.type !== 'NamesAccepted' && c.type !== 'Established'),
          condition('NamesAccepted', 'NoConflicts', 'no conflicts found', old),
          condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted', old),
        ],
        acceptedNames: structuredClone(cur.spec.names),
        storedVersions: [...new Set([...(cur.status?.storedVersions ?? []), storage])],
      };
      // Kubernetes' CRD controllers write as kube-apiserver, through the status subresource.
      recordUpdate(CRDS(), before, cur, { manager: 'kube-apiserver', subresource: 'status' });
      return cur;
    }).catch((err) => this.logger.warn({ crd: name, err: String(err) }, 'CRD controller: status update failed'));
  }

  /** Delete every object of the CRD (waiting for their own finalizers), then let the CRD go. */
  private async cleanUp(crd: KubeObject, info: ResourceInfo | undefined): Promise<void> {
    const name = crd.metadata.name!;
    if (this.cleaning.has(name)) return;
    this.cleaning.add(name);
    try {
      await this.store.guaranteedUpdate(this.key(name), (cur) => {
        const old: Obj[] = cur.status?.conditions ?? [];
        cur.status = { ...cur.status, conditions: [...old.filter((c) => c.type !== 'Terminating' && c.type !== 'Established'),
          { ...condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted', old) },
          condition('Terminating', 'InstanceDeletionInProgress', 'CustomResource deletion is in progress', old)] };
        return cur;
      }).catch(() => undefined);
      if (info) {
        const prefix = storagePrefix(PREFIX, info);
        for (let round = 0; round < 600 && !this.closed; round++) {
          const left = (await this.store.list(prefix)).items;
          if (!left.length) break;
          for (const o of left) {
            if (o.metadata.finalizers?.length) {
              if (!o.metadata.deletionTimestamp) {
                await this.store.guaranteedUpdate(`${prefix}${info.namespaced ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`, (cur) => {
                  cur.metadata.deletionTimestamp ??= now();
                  cur.metadata.deletionGracePeriodSeconds = 0;
                  return cur;
                }).catch(() => undefined);
              }
              continue;
            }
            await this.store.delete(`${prefix}${info.namespaced ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`).catch(() => undefined);
          }
          await new Promise((r) => setTimeout(r, Math.min(1000, 50 * (round + 1))));
        }
      }
      const cur = await this.store.get(this.key(name));
      if (!cur) return;
      const rest = (cur.metadata.finalizers ?? []).filter((f: string) => f !== CLEANUP_FINALIZER);
      if (rest.length) {
        await this.store.guaranteedUpdate(this.key(name), (c) => { c.metadata.finalizers = rest; return c; });
      } else {
        await this.store.delete(this.key(name)).catch(() => undefined);
      }
    } catch (err) {
      this.logger.warn({ crd: name, err: String(err) }, 'CRD controller: cleanup failed');
    } finally {
      this.cleaning.delete(name);
    }
  }
}
