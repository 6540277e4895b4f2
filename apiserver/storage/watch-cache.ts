// The watch cache: ONE etcd watch per resource (all of /registry/<resource>/), started on the
// first watch of that resource, parsed once and fanned out from memory to every client
// watcher, as kube-apiserver's cacher does. A ring buffer of recent events lets a watcher
// start a little in the past; a watcher that wants older history than the ring holds gets
// its own etcd watch from that revision (or 410 Expired when etcd has compacted it).
import type { Etcd3, Watcher as EtcdWatcher } from 'etcd3';
import type { Logger } from '../../lib/logger.ts';
import { ApiError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import type { StoreWatchEvent, StoreWatcher, StoreWatchOptions } from './store.ts';
import { decode, identityTransformer, isCompactedError, prefixEnd, type ValueTransformer } from './codec.ts';
import { EventQueue } from './event-queue.ts';


export interface WatchMetrics {
  /** etcd watch streams open: one per watched resource, plus one per watcher resuming from old history. */
  etcdWatches: number;
  watchers: number;
  eventsDispatched: number;
}

interface RawEvent { type?: string | number; kv?: any; prev_kv?: any }

/** Turn one etcd watch event into a store event. etcd's put with version 1 is a create. */
function toStoreEvent(ev: RawEvent, t: ValueTransformer, logger: Logger): StoreWatchEvent | undefined {
  try {
    return storeEvent(ev, t);
  } catch (err) {
    // A value that cannot be read (not JSON, encrypted with a key this apiserver lacks): skipped, said once per event.
    logger.error({ err: String((err as Error).message ?? err) }, 'watch cache: an event could not be decoded, skipped');
    return undefined;
  }
}

function storeEvent(ev: RawEvent, t: ValueTransformer): StoreWatchEvent | undefined {
  const kv = ev.kv;
  if (!kv) return undefined;
  const key = kv.key.toString();
  const revision = Number(kv.mod_revision);
  const prev = ev.prev_kv ? decode(key, ev.prev_kv.value, ev.prev_kv.mod_revision, t) : undefined;
  if (ev.type === 'Delete' || ev.type === 1) {
    if (!prev) return undefined; // nothing to report without the last state
    const object: KubeObject = { ...prev, metadata: { ...prev.metadata, resourceVersion: String(revision) } };
    return { type: 'DELETED', key, object, prevObject: prev, revision };
  }
  const object = decode(key, kv.value, revision, t);
  return String(kv.version) === '1'
    ? { type: 'ADDED', key, object, revision }
    : { type: 'MODIFIED', key, object, prevObject: prev, revision };
}

/** One client watcher: a key prefix filter, a bounded queue, optional bookmarks. */
class ClientWatcher implements StoreWatcher {
  readonly queue: EventQueue<StoreWatchEvent>;
  lastRevision: number;
  private sentSinceTick = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly closeHooks: Array<() => void> = [];

  constructor(readonly prefix: string, private readonly fromRevision: number, bookmarkIntervalMs: number, queueCapacity: number,
    private readonly progress: () => number, onClose: () => void) {
    this.lastRevision = fromRevision;
    this.closeHooks.push(onClose);
    this.queue = new EventQueue<StoreWatchEvent>(queueCapacity, () => {
      if (this.timer) clearInterval(this.timer);
      for (const hook of this.closeHooks) hook();
    });
    if (bookmarkIntervalMs > 0) {
      this.timer = setInterval(() => this.tick(), bookmarkIntervalMs);
      this.timer.unref();
    }
  }

  offer(ev: StoreWatchEvent): boolean {
    // Compare with the fixed start, not the last event: one etcd transaction can put several keys at one revision.
    if (ev.revision <= this.fromRevision || !ev.key.startsWith(this.prefix)) return false;
    this.lastRevision = ev.revision;
    this.sentSinceTick = true;
    this.queue.push(ev);
    return true;
  }

  private tick(): void {
    if (this.sentSinceTick) { this.sentSinceTick = false; return; }
    const rv = Math.max(this.lastRevision, this.progress());
    this.lastRevision = rv;
    this.queue.push({ type: 'BOOKMARK', key: '', object: { metadata: { resourceVersion: String(rv) } }, revision: rv });
  }

  /** Run when the watcher ends, however it ends (close, consumer stops, error). */
  onClose(hook: () => void): void {
    if (this.queue.closed) hook();
    else this.closeHooks.push(hook);
  }

  close(): void { this.queue.end(); }
  [Symbol.asyncIterator]() { return this.queue[Symbol.asyncIterator](); }
}

/** The shared etcd watch of one resource and its ring buffer of recent events. */
class ResourceCache {
  private ring: StoreWatchEvent[] = [];
  /** Every event with revision > windowStart is in the ring (or yet to arrive). */
  windowStart = 0;
  latestRevision = 0;
  readonly watchers = new Set<ClientWatcher>();
  private etcdWatcher: EtcdWatcher | undefined;
  broken = false;

  constructor(private readonly client: Etcd3, readonly prefix: string, private readonly capacity: number,
    private readonly metrics: WatchMetrics, private readonly logger: Logger, private readonly onBroken: () => void,
    private readonly transformer: ValueTransformer) {}

  /** Start the etcd watch; from `hint` (the first watcher's revision) when that is recent, so it shares. */
  async start(hint: number): Promise<void> {
    const range = { key: Buffer.from(this.prefix), range_end: prefixEnd(this.prefix), count_only: true };
    const head = Number((await this.client.kv.range(range)).header.revision);
    let rev = head;
    if (hint < head && head - hint <= this.capacity) {
      // Only if etcd still has that history (a range at a compacted revision fails).
      rev = await this.client.kv.range({ ...range, revision: String(hint + 1) }).then(() => hint, () => head);
    }
    this.windowStart = this.latestRevision = rev;
    this.etcdWatcher = await this.client.watch().prefix(this.prefix).withPreviousKV().startRevision(String(rev + 1)).create();
    this.metrics.etcdWatches++;
    this.etcdWatcher.on('data', (res) => this.onData(res.events as RawEvent[]));
    this.etcdWatcher.on('error', (err) => {
      this.logger.error({ err: String(err), prefix: this.prefix }, 'watch cache lost its etcd watch');
      this.fail(new ApiError('Expired', `watch of ${this.prefix} ended: ${String(err)}`));
    });
  }

  private onData(events: RawEvent[]): void {
    for (const raw of events) {
      const ev = toStoreEvent(raw, this.transformer, this.logger);
      if (!ev) continue;
      this.ring.push(ev);
      if (this.ring.length > this.capacity) this.windowStart = this.ring.shift()!.revision;
      this.latestRevision = ev.revision;
      for (const w of this.watchers) if (w.offer(ev)) this.metrics.eventsDispatched++;
    }
  }

  /** Serve a watcher from memory if the ring covers fromRevision; false if it needs older history. */
  attach(w: ClientWatcher, fromRevision: number): boolean {
    if (this.broken || fromRevision < this.windowStart) return false;
    for (const ev of this.ring) if (ev.revision > fromRevision) w.offer(ev);
    this.watchers.add(w);
    return true;
  }

  fail(err: ApiError): void {
    this.broken = true;
    for (const w of this.watchers) w.queue.fail(err);
    this.watchers.clear();
    void this.stop();
    this.onBroken();
  }

  async stop(): Promise<void> {
    const w = this.etcdWatcher;
    this.etcdWatcher = undefined;
    if (w) {
      this.metrics.etcdWatches--;
      await w.cancel().catch(() => {});
    }
  }
}

export class WatchCache {
  private readonly caches = new Map<string, Promise<ResourceCache>>();
  private readonly dedicated = new Set<EtcdWatcher>();
  readonly metrics: WatchMetrics = { etcdWatches: 0, watchers: 0, eventsDispatched: 0 };

  /**
   * @param capacity recent events kept per resource
   * @param watcherQueueCapacity per-watcher backlog before a slow consumer is cut off
   */
  constructor(private readonly client: Etcd3, private readonly capacity: number, private readonly logger: Logger,
    private readonly watcherQueueCapacity = 10_000, private readonly transformer: ValueTransformer = identityTransformer) {}

  /** `/registry/pods/default/` → `/registry/pods/`: the cache is per resource. */
  private resourcePrefix(prefix: string): string {
    const m = /^(\/[^/]+\/[^/]+\/)/.exec(prefix);
    return m ? m[1] : prefix;
  }

  private cacheFor(resourcePrefix: string, hint: number): Promise<ResourceCache> {
    let p = this.caches.get(resourcePrefix);
    if (!p) {
      const cache = new ResourceCache(this.client, resourcePrefix, this.capacity, this.metrics,
        this.logger, () => this.caches.delete(resourcePrefix), this.transformer);
      p = cache.start(hint).then(() => cache);
      p.catch(() => this.caches.delete(resourcePrefix));
      this.caches.set(resourcePrefix, p);
    }
    return p;
  }

  watch(prefix: string, opts: StoreWatchOptions): StoreWatcher {
    const from = opts.fromRevision;
    if (!Number.isInteger(from) || from < 0) throw new ApiError('BadRequest', `invalid resource version: ${from}`);
    let cache: ResourceCache | undefined;
    this.metrics.watchers++;
    const w = new ClientWatcher(prefix, from, opts.bookmarkIntervalMs ?? 0, this.watcherQueueCapacity,
      () => cache?.latestRevision ?? 0,
      () => { this.metrics.watchers--; cache?.watchers.delete(w); });
    void this.cacheFor(this.resourcePrefix(prefix), from).then(async (c) => {
      if (w.queue.closed) return;
      // Bookmarks follow the shared cache only when this watcher is fed by it.
      if (c.attach(w, from)) cache = c;
      else await this.watchFromHistory(w, prefix, from);
    }).catch((err) => w.queue.fail(toWatchError(err)));
    return w;
  }

  /** A watcher that must start before the ring's window: its own etcd watch from fromRevision+1. */
  private async watchFromHistory(w: ClientWatcher, prefix: string, from: number): Promise<void> {
    const end = prefixEnd(prefix);
    // etcd answers a range at a compacted revision with an error: check before watching.
    const head = await this.client.kv.range({ key: Buffer.from(prefix), range_end: end, count_only: true });
    if (from + 1 <= Number(head.header.revision)) {
      try {
        await this.client.kv.range({ key: Buffer.from(prefix), range_end: end, count_only: true, revision: String(from + 1) });
      } catch (err) {
        if (isCompactedError(err)) throw new ApiError('Expired', `too old resource version: ${from}`);
        throw err;
      }
    }
    if (w.queue.closed) return;
    const watcher = await this.client.watch().prefix(prefix).withPreviousKV().startRevision(String(from + 1)).create();
    this.dedicated.add(watcher);
    this.metrics.etcdWatches++;
    const stop = () => {
      if (!this.dedicated.delete(watcher)) return;
      this.metrics.etcdWatches--;
      void watcher.cancel().catch(() => {});
    };
    watcher.on('data', (res) => {
      for (const raw of res.events as RawEvent[]) {
        const ev = toStoreEvent(raw, this.transformer, this.logger);
        if (ev && w.offer(ev)) this.metrics.eventsDispatched++;
      }
    });
    watcher.on('error', (err) => { stop(); w.queue.fail(toWatchError(err)); });
    w.onClose(stop);
  }

  async close(): Promise<void> {
    for (const p of this.caches.values()) {
      const c = await p.catch(() => undefined);
      if (!c) continue;
      for (const w of c.watchers) w.close();
      await c.stop();
    }
    this.caches.clear();
    for (const w of this.dedicated) await w.cancel().catch(() => {});
    this.dedicated.clear();
  }
}

function toWatchError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isCompactedError(err)) return new ApiError('Expired', 'too old resource version');
  return new ApiError('InternalError', `watch failed: ${String((err as Error)?.message ?? err)}`);
}
