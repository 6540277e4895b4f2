// Namespaces' lifecycle, as kube-apiserver's NamespaceLifecycle admission and the namespace controller do it:
// a watched cache of namespaces (so a write into one being deleted is refused at once), Terminating on delete,
// then every object in it deleted and the namespace removed once it is empty.
import { ApiError, notFound } from '../../api/errors.ts';
import { RESOURCES, findResource, storageKey, storagePrefix } from '../../api/resources.ts';
import { now, type DeleteOptions, type KubeObject } from '../../api/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Store } from '../storage/store.ts';
import type { RequestContext, ResourceRef } from './types.ts';

const PREFIX = '/registry';
const NS_INFO = findResource('', 'namespaces')!;
const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const isCode = (err: unknown, code: string) => err instanceof ApiError && err.code === code;

type Delete = (ctx: RequestContext, ref: ResourceRef, opts: DeleteOptions) => Promise<unknown>;

export class NamespaceLifecycle {
  /** Namespaces as last seen by the watch. */
  private readonly cache = new Map<string, KubeObject>();
  private readonly finalizing = new Set<string>();
  private watch: { close(): void } | undefined;
  private closed = false;

  constructor(private readonly store: Store, private readonly logger: Logger, private readonly deleteObject: Delete,
    private readonly decorate: (obj: KubeObject) => KubeObject) {}

  private key(name: string): string { return storageKey(PREFIX, NS_INFO, undefined, name); }

  /** New content may only go into a namespace that exists and is not being deleted. */
  async require(ns: string): Promise<void> {
    // A watched cache first, a live read when the cache has not seen the namespace (created a moment ago).
    const nsObj = this.cache.get(ns) ?? await this.store.get(this.key(ns));
    if (!nsObj) throw notFound('namespaces', ns);
    if (nsObj.metadata.deletionTimestamp || nsObj.status?.phase === 'Terminating') {
      throw new ApiError('Forbidden', `unable to create new content in namespace ${ns} because it is being terminated`,
        { name: ns, kind: 'namespaces', causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }] });
    }
  }

  /**
   * A namespace delete marks it Terminating; its contents are then deleted and the namespace goes when it is
   * empty (Kubernetes' namespace controller does this; here the apiserver finishes it itself).
   */
  async terminate(stored: KubeObject, dryRun: boolean): Promise<{ object: KubeObject; deleted: boolean }> {
    const name = stored.metadata.name!;
    if (PROTECTED_NAMESPACES.has(name)) {
      throw new ApiError('Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    if (dryRun) return { object: this.decorate(stored), deleted: false };
    let obj = stored;
    if (!stored.metadata.deletionTimestamp) {
      obj = await this.store.guaranteedUpdate(this.key(name), (ns) => {
        ns.metadata.deletionTimestamp ??= now();
        ns.metadata.deletionGracePeriodSeconds = 0;
        ns.status = { ...(ns.status ?? {}), phase: 'Terminating' };
        return ns;
      });
      this.cache.set(name, obj); // refuse new content at once, not when the watch catches up
    }
    this.finalize(name);
    return { object: this.decorate(obj), deleted: false };
  }

  private finalize(name: string): void {
    if (this.finalizing.has(name)) return;
    this.finalizing.add(name);
    const ctx: RequestContext = { user: { username: 'system:serviceaccount:kube-system:namespace-controller', groups: ['system:masters'] } };
    const run = async () => {
      // Like the namespace controller, start a moment later: `kubectl delete -f` of a file holding a
      // namespace and its objects then deletes those objects itself instead of racing us to them.
      await new Promise((r) => setTimeout(r, 1000));
      for (let round = 0; ; round++) {
        let remaining = 0;
        for (const info of RESOURCES) {
          if (!info.namespaced) continue;
          const list = await this.store.list(storagePrefix(PREFIX, info, name));
          for (const obj of list.items) {
            remaining++;
            if (!obj.metadata.deletionTimestamp) {
              await this.deleteObject(ctx, { info, namespace: name, name: obj.metadata.name }, {}).catch((err) => {
                if (!isCode(err, 'NotFound')) this.logger.warn({ err: String(err), namespace: name }, 'namespace cleanup: delete failed');
              });
            }
          }
        }
        if (remaining === 0) {
          await this.store.delete(this.key(name)).catch(() => {});
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * (round + 1))));
      }
    };
    run().catch((err) => this.logger.error({ err: String(err), namespace: name }, 'namespace cleanup failed'))
      .finally(() => this.finalizing.delete(name));
  }

  /** Resume the deletions a restart interrupted, and keep the cache current: list, then watch; again after any error. */
  async start(): Promise<void> {
    const namespaces = await this.store.list(storagePrefix(PREFIX, NS_INFO));
    for (const ns of namespaces.items) if (ns.metadata.deletionTimestamp) this.finalize(ns.metadata.name!);
    const run = async () => {
      while (!this.closed) {
        try {
          const list = await this.store.list(storagePrefix(PREFIX, NS_INFO));
          this.cache.clear();
          for (const ns of list.items) this.cache.set(ns.metadata.name!, ns);
          const w = this.store.watch(storagePrefix(PREFIX, NS_INFO), { fromRevision: list.revision });
          this.watch = w;
          for await (const ev of w) {
            if (ev.type === 'DELETED') this.cache.delete(ev.object.metadata.name!);
            else if (ev.type !== 'BOOKMARK') this.cache.set(ev.object.metadata.name!, ev.object);
          }
        } catch (err) {
          this.cache.clear();
          if (!this.closed) this.logger.warn({ err: String(err) }, 'namespace cache: watch failed, re-listing');
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
}
