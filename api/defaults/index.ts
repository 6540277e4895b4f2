// Defaulting entry point used by the registry: fills in what Kubernetes fills in
// (restartPolicy, ports[].protocol, dnsPolicy, strategy, …). Mutates obj.
// STUB: the API-package work fills it in.
import type { ResourceInfo } from '../resources.ts';
import type { KubeObject } from '../types.ts';

export function applyDefaults(_info: ResourceInfo, _obj: KubeObject): void {}
