// The storage contract the registry is written against. The only implementation is
// EtcdStore (etcd-store.ts) over a real etcd; keys are full etcd keys such as
// /registry/pods/default/web. Objects are plain JSON; the store owns
// metadata.resourceVersion (= etcd mod_revision) and never trusts the one it is given.
import type { KubeObject, WatchEventType } from '../../api/types.ts';

export interface StoreListResult {
  items: KubeObject[];
  /** The etcd header revision the list was read at (the list's resourceVersion). */
  revision: number;
  /** Set when `limit` cut the list: the key to continue after. */
  continueKey?: string;
}

export interface StoreWatchEvent {
  type: Exclude<WatchEventType, 'ERROR'>;
  key: string;
  /** The object after the change; for DELETED the last state, with resourceVersion = the delete revision. */
  object: KubeObject;
  /** For MODIFIED and DELETED: the state before the change (for selector transitions). */
  prevObject?: KubeObject;
  revision: number;
}

export interface StoreWatcher extends AsyncIterable<StoreWatchEvent> {
  /** Stop the watch; the iterator ends. Safe to call twice. */
  close(): void;
}

export interface StoreWatchOptions {
  /**
   * Deliver every change with revision > fromRevision, in order. Throws (or the first
   * iteration throws) ApiError 'Expired' (410) when fromRevision is older than what the
   * watch cache still holds and etcd has compacted it.
   */
  fromRevision: number;
  /** Emit a BOOKMARK event (object = {metadata:{resourceVersion}}) at this interval when idle. 0 = never. */
  bookmarkIntervalMs?: number;
}

export interface Store {
  /** Key must not exist, else ApiError AlreadyExists (the registry supplies resource/name for the message). */
  create(key: string, obj: KubeObject): Promise<KubeObject>;
  get(key: string): Promise<KubeObject | undefined>;
  /** All objects under a key prefix, sorted by key, read at one revision. */
  /** `revision` reads at that etcd revision (later pages of a paged list); 410 Expired when compacted. */
  list(prefix: string, opts?: { limit?: number; continueKey?: string; revision?: number }): Promise<StoreListResult>;
  /**
   * Compare-and-swap on mod_revision: succeeds only if the stored object's revision equals
   * expectedRevision. Missing key → NotFound; revision mismatch → Conflict.
   */
  update(key: string, obj: KubeObject, expectedRevision: number): Promise<KubeObject>;
  /**
   * Read-modify-write with retries on conflict: `fn` gets the current object (a private copy)
   * and returns the next one, or throws to abort. Returns the stored result.
   */
  guaranteedUpdate(key: string, fn: (current: KubeObject) => KubeObject | Promise<KubeObject>): Promise<KubeObject>;
  /** Delete, optionally only if mod_revision matches. Returns the last state (resourceVersion = delete revision). */
  delete(key: string, expectedRevision?: number): Promise<KubeObject>;
  /** Watch every key under a prefix (served from the in-memory watch cache: one etcd watch per resource). */
  watch(prefix: string, opts: StoreWatchOptions): StoreWatcher;
  /** The current etcd revision. */
  currentRevision(): Promise<number>;
  close(): Promise<void>;
}
