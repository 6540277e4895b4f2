// A watch over the store, as kube-apiserver's watch cache serves one: the initial ADDED events (a list at the
// requested resourceVersion, or sendInitialEvents with its end bookmark), then the store's events filtered by the
// watch's selectors — an object that stops matching is DELETED for this watcher, one that starts matching ADDED.
import type { ResourceInfo } from '../../api/resources.ts';
import { ApiError, errorToStatus, toApiError } from '../../api/errors.ts';
import { apiVersionOf } from '../../api/resources.ts';
import type { KubeObject, WatchEvent, WatchOptions } from '../../api/types.ts';
import type { Store, StoreWatchEvent } from '../storage/store.ts';
import type { ApiWatch } from './types.ts';

export interface WatchSource {
  store: Store;
  info: ResourceInfo;
  prefix: string;
  match(obj: KubeObject): boolean;
  decorate(obj: KubeObject): KubeObject;
  waitForRevision(rv: number): Promise<void>;
  bookmarkIntervalMs: number;
}

export async function watchObjects(src: WatchSource, opts: WatchOptions): Promise<ApiWatch> {
  const { store, info, prefix, match, decorate } = src;
  const rv = opts.resourceVersion;
  let from: number;
  let initial: KubeObject[] = [];
  const numericRv = () => {
    if (!/^\d+$/.test(rv!) || BigInt(rv!) > 0xffffffffffffffffn) throw new ApiError('BadRequest', `resourceVersion: Invalid value: "${rv}": invalid resource version`);
    return Number(rv);
  };
  if (opts.sendInitialEvents !== undefined) {
    // WatchList: initial events (or none) whatever resourceVersion says; rv is only "not older than".
    if (rv && rv !== '0') await src.waitForRevision(numericRv());
    if (opts.sendInitialEvents) {
      const l = await store.list(prefix);
      from = l.revision;
      initial = l.items.filter(match);
    } else {
      from = rv && rv !== '0' ? numericRv() : await store.currentRevision();
    }
  } else if (rv === undefined || rv === '' || rv === '0') {
    const l = await store.list(prefix);
    from = l.revision;
    initial = l.items.filter(match);
  } else {
    if (!/^\d+$/.test(rv) || BigInt(rv) > 0xffffffffffffffffn) throw new ApiError('BadRequest', `resourceVersion: Invalid value: "${rv}": invalid resource version`);
    from = Number(rv);
    await src.waitForRevision(from);
  }
  const watcher = store.watch(prefix, {
    fromRevision: from,
    bookmarkIntervalMs: opts.allowWatchBookmarks ? src.bookmarkIntervalMs : 0,
  });
  let timer: NodeJS.Timeout | undefined;
  if (opts.timeoutSeconds && opts.timeoutSeconds > 0) timer = setTimeout(() => watcher.close(), opts.timeoutSeconds * 1000);
  const close = () => { if (timer) clearTimeout(timer); watcher.close(); };
  const toEvent = (ev: StoreWatchEvent): WatchEvent | undefined => {
    if (ev.type === 'BOOKMARK') {
      return { type: 'BOOKMARK', object: { apiVersion: apiVersionOf(info), kind: info.kind, metadata: { resourceVersion: String(ev.revision) } } };
    }
    const now = match(ev.object);
    const before = ev.prevObject ? match(ev.prevObject) : false;
    if (ev.type === 'ADDED') return now ? { type: 'ADDED', object: decorate(ev.object) } : undefined;
    if (ev.type === 'DELETED') return before || now ? { type: 'DELETED', object: decorate(ev.object) } : undefined;
    if (now && before) return { type: 'MODIFIED', object: decorate(ev.object) };
    if (now) return { type: 'ADDED', object: decorate(ev.object) };
    if (before) return { type: 'DELETED', object: decorate(ev.object) };
    return undefined;
  };
  async function* events(): AsyncGenerator<WatchEvent> {
    try {
      for (const obj of initial) yield { type: 'ADDED', object: decorate(obj) };
      if (opts.sendInitialEvents && opts.allowWatchBookmarks) {
        yield { type: 'BOOKMARK', object: { apiVersion: apiVersionOf(info), kind: info.kind, metadata: { resourceVersion: String(from), annotations: { 'k8s.io/initial-events-end': 'true' } } } };
      }
      for await (const ev of watcher) {
        const out = toEvent(ev);
        if (out) yield out;
      }
    } catch (err) {
      yield { type: 'ERROR', object: errorToStatus(toApiError(err)) as unknown as KubeObject };
    } finally {
      close();
    }
  }
  const it = events();
  return { close, [Symbol.asyncIterator]: () => it };
}
