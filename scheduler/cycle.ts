// What one scheduling attempt knows beyond a single node: every node with its pods, namespace
// labels (for namespaceSelector), the nodes that passed the filters (for scores normalised over
// them), and a memo so a plugin computes its cross-node state (kube-scheduler's PreFilter and
// PreScore) once per pod rather than once per node.
import type { NodeInfo } from './node-info.ts';
import type { KubeObject } from '../api/types.ts';

/** What the scheduler's informers know of storage. */
export interface StorageView {
  claim(namespace: string, name: string): KubeObject | undefined;
  volume(name: string): KubeObject | undefined;
  volumes(): KubeObject[];
  storageClass(name: string): KubeObject | undefined;
}

export interface Cycle {
  all: NodeInfo[];
  /** Set before scoring: the nodes that passed every filter. */
  feasible?: NodeInfo[];
  namespaceLabels(ns: string): Record<string, string> | undefined;
  memo<T>(key: string, make: () => T): T;
  /** Claims, volumes and classes, for the VolumeBinding plugin (absent: no pod has storage to check). */
  storage?: StorageView;
}

export function newCycle(all: NodeInfo[], namespaceLabels: (ns: string) => Record<string, string> | undefined = () => undefined, storage?: StorageView): Cycle {
  const memo = new Map<string, unknown>();
  return {
    all, namespaceLabels, storage,
    memo<T>(key: string, make: () => T): T {
      if (!memo.has(key)) memo.set(key, make());
      return memo.get(key) as T;
    },
  };
}
