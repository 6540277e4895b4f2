// What a filter or score plugin is: its own module, so the plugins in their files (pod-affinity.ts,
// topology-spread.ts) and the list of them (plugins.ts) need not import each other.
import type { KubeObject } from '../api/types.ts';
import type { Cycle } from './cycle.ts';
import type { NodeInfo } from './node-info.ts';

/** `cycle` carries what spans nodes (see cycle.ts); without it a plugin sees only this node. */
export interface FilterPlugin { name: string; filter(pod: KubeObject, node: NodeInfo, cycle?: Cycle): string | undefined }
export interface ScorePlugin { name: string; weight: number; score(pod: KubeObject, node: NodeInfo, all: NodeInfo[], cycle?: Cycle): number }
