// The Store over a real etcd, the Kubernetes way: resourceVersion is the etcd mod_revision,
// create is "key must not exist", update is compare-and-swap on the revision, and every
// watch is served by the watch cache (one etcd watch per resource).
import { Etcd3, isRecoverableError, GRPCResourceExhastedError } from 'etcd3';
import { ExponentialBackoff, handleWhen, noop, retry } from 'cockatiel';
import { ApiError } from '../../api/errors.ts';
import type { KubeObject } from '../../api/types.ts';
import { silentLogger, type Logger } from '../../lib/logger.ts';
import type { Store, StoreListResult, StoreWatcher, StoreWatchOptions } from './store.ts';
import { decode, encode, identityTransformer, isCompactedError, prefixEnd, type ValueTransformer } from './codec.ts';
import { WatchCache, type WatchMetrics } from './watch-cache.ts';

export interface EtcdStoreOptions {
  endpoints: string[];
  logger?: Logger;
  /** Recent events kept per resource for watchers that start slightly in the past. */
  watchCacheCapacity?: number;
  /** Events buffered for one slow watcher before it is cut off (default 10000). */
  watcherQueueCapacity?: number;
  /** etcd's --max-request-bytes (etcd's default 1.5 MiB): larger writes are refused before they reach etcd. */
  maxRequestBytes?: number;
  /** Encryption at rest (--encryption-provider-config): values pass through it on the way to and from etcd. */
  transformer?: ValueTransformer;
  /** TLS to etcd (kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile), PEM: the CA that verifies etcd and a client certificate. */
  tls?: EtcdClientTls;
}

export interface EtcdClientTls { ca: string; cert?: string; key?: string }

export const ETCD_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** A put's request around its key and value (txn, compare, framing): well above what etcd adds. */
const REQUEST_OVERHEAD_BYTES = 512;

/** MEASURED.md: the 4 MiB default receive limit breaks a list of ~10k objects. */
const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;
const MAX_CAS_RETRIES = 32;

export class EtcdStore implements Store {
  readonly client: Etcd3;
  private readonly cache: WatchCache;
  private readonly logger: Logger;
  private compactor: NodeJS.Timeout | undefined;
  private readonly maxRequestBytes: number;
  private readonly transformer: ValueTransformer;

  constructor(opts: EtcdStoreOptions) {
    if (!opts.endpoints?.length) throw new Error('EtcdStore: endpoints is required');
    this.logger = opts.logger ?? silentLogger();
    this.maxRequestBytes = opts.maxRequestBytes ?? ETCD_MAX_REQUEST_BYTES;
    this.transformer = opts.transformer ?? identityTransformer;
    this.client = new Etcd3({
      hosts: opts.endpoints,
      ...(opts.tls ? { credentials: { rootCertificate: Buffer.from(opts.tls.ca), ...(opts.tls.key ? { privateKey: Buffer.from(opts.tls.key) } : {}), ...(opts.tls.cert ? { certChain: Buffer.from(opts.tls.cert) } : {}) } } : {}),
      grpcOptions: { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES },
      // etcd3's default is a circuit breaker per host shared by every request: one refused write (too large)
      // retried three times opened it, and every request of the apiserver failed for 5 s. Here one request's
      // failure stays its own: no breaker, and only transient errors (etcd down, leader change) are retried,
      // a few times with jittered back-off. A permanent error (too large, quota) is never retried.
      faultHandling: {
        host: () => noop,
        global: retry(handleWhen((err) => isRecoverableError(err) && !(err instanceof GRPCResourceExhastedError)),
          { maxAttempts: 3, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }) }),
      },
    });
    this.cache = new WatchCache(this.client, opts.watchCacheCapacity ?? 1000, this.logger, opts.watcherQueueCapacity, this.transformer);
  }

  /** etcd refuses a request over its limit; answer that one request as Kubernetes does, without sending it. */
  private encodeForWrite(key: string, obj: KubeObject): Buffer {
    const value = encode(obj, key, this.transformer);
    if (Buffer.byteLength(value) + 2 * Buffer.byteLength(key) + REQUEST_OVERHEAD_BYTES > this.maxRequestBytes) {
      throw new ApiError('RequestEntityTooLarge', 'etcdserver: request is too large');
    }
    return value;
  }

  async create(key: string, obj: KubeObject): Promise<KubeObject> {
    const value = this.encodeForWrite(key, obj);
    const res = await this.client.if(key, 'Version', '==', 0).then(this.client.put(key).value(value)).commit();
    if (!res.succeeded) throw new ApiError('AlreadyExists', `${key} already exists`);
    return withRevision(obj, res.header.revision);
  }

  async get(key: string): Promise<KubeObject | undefined> {
    const res = await this.client.kv.range({ key: Buffer.from(key) });
    const kv = res.kvs[0];
    return kv ? decode(key, kv.value, kv.mod_revision, this.transformer) : undefined;
  }

  /** Sorted by key, read at one revision; `revision` reads a later page at the first page's revision. */
  async list(prefix: string, opts: { limit?: number; continueKey?: string; revision?: number } = {}): Promise<StoreListResult> {
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const start = opts.continueKey ? Buffer.from(opts.continueKey + '\0') : Buffer.from(prefix);
    let res;
    try {
      res = await this.client.kv.range({
        key: start, range_end: prefixEnd(prefix), limit: limit ? String(limit) : '0',
        revision: opts.revision ? String(opts.revision) : '0',
      });
    } catch (err) {
      if (isCompactedError(err)) {
        throw new ApiError('Expired', opts.continueKey
          ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'
          : 'The resourceVersion for the provided list is too old.');
      }
      throw err;
    }
    const revision = opts.revision ?? Number(res.header.revision);
    const items = res.kvs.map((kv) => decode(kv.key.toString(), kv.value, kv.mod_revision, this.transformer));
    const result: StoreListResult = { items, revision };
    if (res.more && res.kvs.length > 0) result.continueKey = res.kvs[res.kvs.length - 1].key.toString();
    return result;
  }

  async update(key: string, obj: KubeObject, expectedRevision: number): Promise<KubeObject> {
    const value = this.encodeForWrite(key, obj);
    const res = await this.client.if(key, 'Mod', '==', expectedRevision)
      .then(this.client.put(key).value(value))
      .else(this.client.get(key))
      .commit();
    if (res.succeeded) return withRevision(obj, res.header.revision);
    const found = res.responses[0]?.response_range?.kvs?.length;
    if (!found) throw new ApiError('NotFound', `${key} not found`);
    throw new ApiError('Conflict', `${key} was modified: the object has been modified; please apply your changes to the latest version and try again`);
  }

  async guaranteedUpdate(key: string, fn: (current: KubeObject) => KubeObject | Promise<KubeObject>): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.get(key);
      if (!current) throw new ApiError('NotFound', `${key} not found`);
      const rev = Number(current.metadata.resourceVersion);
      const next = await fn(structuredClone(current));
      try {
        return await this.update(key, next, rev);
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'Conflict' || attempt >= MAX_CAS_RETRIES) throw err;
      }
    }
  }

  async delete(key: string, expectedRevision?: number): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.get(key);
      if (!current) throw new ApiError('NotFound', `${key} not found`);
      const rev = Number(current.metadata.resourceVersion);
      if (expectedRevision !== undefined && expectedRevision !== rev) {
        throw new ApiError('Conflict', `${key} was modified: the object has been modified; please apply your changes to the latest version and try again`);
      }
      const res = await this.client.if(key, 'Mod', '==', rev).then(this.client.delete().key(key)).commit();
      if (res.succeeded) return withRevision(current, res.header.revision);
      if (expectedRevision !== undefined || attempt >= MAX_CAS_RETRIES) {
        throw new ApiError('Conflict', `${key} was modified while being deleted`);
      }
    }
  }

  watch(prefix: string, opts: StoreWatchOptions): StoreWatcher {
    return this.cache.watch(prefix, opts);
  }

  async currentRevision(): Promise<number> {
    const res = await this.client.kv.range({ key: Buffer.from('\0'), count_only: true });
    return Number(res.header.revision);
  }

  /** Drop etcd history before `revision` (tests; the compactor). */
  async compact(revision: number): Promise<void> {
    try {
      await this.client.kv.compact({ revision: String(revision), physical: true });
    } catch (err) {
      if (!isCompactedError(err)) throw err; // already compacted past it: fine
    }
  }

  /** Compact every interval, keeping the last interval's history, as kube-apiserver does every 5 minutes. */
  startCompactor(intervalMs = 5 * 60_000): void {
    let previous = 0;
    this.compactor = setInterval(() => {
      void (async () => {
        const rev = await this.currentRevision();
        if (previous > 0) await this.compact(previous);
        previous = rev;
      })().catch((err) => this.logger.warn({ err: String(err) }, 'compaction failed'));
    }, intervalMs);
    this.compactor.unref();
  }

  metrics(): WatchMetrics {
    return { ...this.cache.metrics };
  }

  async close(): Promise<void> {
    if (this.compactor) clearInterval(this.compactor);
    await this.cache.close();
    this.client.close();
  }
}

function withRevision(obj: KubeObject, revision: string | number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}
