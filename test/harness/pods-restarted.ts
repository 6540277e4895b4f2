// Seeing that pods came back after a restart (compose restart, a dockerd restart): the same Pod objects,
// each running in new containers, Ready by a status its restarted kubelet wrote — not the stale one from
// before, which still says Ready while the pod is gone.
import type { KubemuCluster } from './kubemu-cluster.ts';
import { until } from './kubemu-cluster.ts';

type Obj = Record<string, any>;

export interface PodSnapshot {
  /** namespace/name/uid of every pod, sorted. */
  pods: string[];
  /** Each pod's container ids from its status, by pod uid. */
  containerIds: Map<string, string>;
}

const containerIdsOf = (p: Obj): string => (p.status?.containerStatuses ?? []).map((s: Obj) => s.containerID).join(',');

export async function podSnapshot(c: KubemuCluster): Promise<PodSnapshot> {
  const items: Obj[] = JSON.parse(await c.kubectl('get', 'pods', '-A', '-o', 'json')).items;
  return {
    pods: items.map((p) => `${p.metadata.namespace}/${p.metadata.name}/${p.metadata.uid}`).sort(),
    containerIds: new Map(items.map((p) => [p.metadata.uid, containerIdsOf(p)])),
  };
}

/** Until every pod runs in containers other than those of `before` and is Ready. */
export async function untilPodsRestarted(c: KubemuCluster, before: PodSnapshot, what: string, ms: number): Promise<void> {
  await until(`${what}: every pod running again in a new container, and Ready`, async () => {
    const items: Obj[] = JSON.parse(await c.kubectl('get', 'pods', '-A', '-o', 'json')).items;
    return items.every((p) => {
      const ids = containerIdsOf(p);
      return ids && ids !== before.containerIds.get(p.metadata.uid) && p.status.conditions?.some((x: Obj) => x.type === 'Ready' && x.status === 'True');
    });
  }, ms, { everyMs: 1000 });
}
