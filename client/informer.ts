// An informer, as client-go's: list, then watch from the list's resourceVersion, keeping a
// local indexed cache and calling add/update/delete handlers (after the cache is updated).
// On 410 Expired it re-lists and reports what vanished meanwhile as deletions; on any other
// error it backs off (1 s doubling to 30 s, reset on success) and tries again — never stops
// silently.
import type { KubeObject, WatchEvent } from '../api/types.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';
import type { ApiClient, ResourceKey } from './api-client.ts';

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Named index functions, e.g. { byNode: (pod) => [pod.spec.nodeName] }. */
  indexers?: Record<string, (obj: KubeObject) => string[]>;
  logger?: Logger;
  /** Back-off bounds for retries after errors. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export const keyOf = (obj: KubeObject): string =>
  obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name ?? '';

export class Informer<T extends KubeObject = KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private readonly logger: Logger;
  /** The last resourceVersion seen: where a re-watch resumes. */
  lastResourceVersion = '';

  constructor(private readonly client: ApiClient, private readonly res: ResourceKey, private readonly opts: InformerOptions = {}) {
    this.logger = opts.logger ?? silentLogger();
    for (const name of Object.keys(opts.indexers ?? {})) this.indexes.set(name, new Map());
  }

  addHandlers(h: InformerHandlers<T>): this { this.handlers.push(h); return this; }

  get(name: string, namespace?: string): T | undefined { return this.store.get(namespace ? `${namespace}/${name}` : name); }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  byIndex(index: string, value: string): T[] {
    const keys = this.indexes.get(index)?.get(value);
    return keys ? [...keys].map((k) => this.store.get(k)!).filter(Boolean) : [];
  }

  hasSynced(): boolean { return this.synced; }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(new Error('aborted before the informer synced')), { once: true });
    });
  }

  private index(key: string, obj: T | undefined, old: T | undefined): void {
    for (const [name, fn] of Object.entries(this.opts.indexers ?? {})) {
      const idx = this.indexes.get(name)!;
      const safe = (o: T) => { try { return fn(o).filter((v) => v !== undefined && v !== null); } catch { return []; } };
      if (old) for (const v of safe(old)) idx.get(v)?.delete(key);
      if (obj) for (const v of safe(obj)) { if (!idx.has(v)) idx.set(v, new Set()); idx.get(v)!.add(key); }
    }
  }

  private call(fn: (h: InformerHandlers<T>) => void): void {
    for (const h of this.handlers) {
      try { fn(h); } catch (err) { this.logger.error({ err: String(err) }, 'informer handler threw'); }
    }
  }

  private upsert(obj: T): void {
    const key = keyOf(obj);
    const old = this.store.get(key);
    this.store.set(key, obj);
    this.index(key, obj, old);
    if (old) this.call((h) => h.onUpdate?.(old, obj));
    else this.call((h) => h.onAdd?.(obj));
  }

  private remove(obj: T): void {
    const key = keyOf(obj);
    const old = this.store.get(key);
    this.store.delete(key);
    this.index(key, undefined, old);
    this.call((h) => h.onDelete?.(old ?? obj));
  }

  /** List and replace the cache; objects that disappeared are reported as deleted. */
  private async relist(): Promise<string> {
    const list = await this.client.list<T>(this.res, this.opts.namespace, { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector });
    const seen = new Set<string>();
    for (const item of list.items) {
      seen.add(keyOf(item));
      const old = this.store.get(keyOf(item));
      if (!old || old.metadata.resourceVersion !== item.metadata.resourceVersion) this.upsert(item);
    }
    for (const [key, obj] of [...this.store]) if (!seen.has(key)) this.remove(obj);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    return list.metadata.resourceVersion ?? '';
  }

  /** Run until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const min = this.opts.minBackoffMs ?? 1000;
    const max = this.opts.maxBackoffMs ?? 30_000;
    let backoff = min;
    let rv = '';
    while (!signal.aborted) {
      try {
        if (!rv) rv = await this.relist();
        this.lastResourceVersion = rv;
        const w = await this.client.watch(this.res, this.opts.namespace, {
          resourceVersion: rv, labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, allowWatchBookmarks: true,
        });
        // The signal may have fired while the watch was being opened: its listener would never run.
        if (signal.aborted) { w.close(); break; }
        const onAbort = () => w.close();
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          for await (const ev of w as AsyncIterable<WatchEvent<T>>) {
            backoff = min;
            if (ev.type === 'ERROR') {
              const status = ev.object as unknown as { code?: number; message?: string };
              if (status.code === 410) { rv = ''; break; } // expired: re-list
              throw new Error(`watch error: ${status.message}`);
            }
            const evRv = ev.object?.metadata?.resourceVersion;
            if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.upsert(ev.object);
            else if (ev.type === 'DELETED') this.remove(ev.object);
            if (evRv) rv = this.lastResourceVersion = evRv;
          }
        } finally {
          signal.removeEventListener('abort', onAbort);
          w.close();
        }
      } catch (err) {
        if (signal.aborted) break;
        const code = (err as { code?: string }).code;
        if (code === 'Expired' || code === 'Gone') { rv = ''; continue; }
        this.logger.warn({ err: String((err as Error).message ?? err), resource: this.res.resource, retryInMs: backoff }, 'informer: list/watch failed, retrying');
        await sleep(backoff, signal);
        backoff = Math.min(max, backoff * 2);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}
