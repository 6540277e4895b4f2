// `kubemu down` removes the pod containers of its nodes (found by the labels the runtime puts on them).
import { DockerEngine, LABELS, removeVolumes } from '../kubelet/public.ts';
import { networksNamed } from './docker-network.ts';

export async function removeNodeContainers(nodes: string[], network = 'kubemu'): Promise<number> {
  const engine = new DockerEngine({});
  let removed = 0;
  try {
    for (const node of nodes) {
      const filters = encodeURIComponent(JSON.stringify({ label: [`${LABELS.managed}=true`, `${LABELS.node}=${node}`] }));
      const list: Array<{ Id: string }> = await engine.json('GET', `/containers/json?all=true&filters=${filters}`);
      for (const c of list) {
        await engine.json('DELETE', `/containers/${c.Id}?force=true`, undefined, [404]);
        removed++;
      }
      await removeVolumes(engine, { [LABELS.managed]: 'true', [LABELS.node]: node }); // memory-backed emptyDirs
    }
    // The cluster's Docker network goes too, unless something else still uses it. Every network of that
    // name: Docker allows duplicates, and two creators racing (kubelets on their first pod) can leave two.
    for (const n of network ? await networksNamed(engine, network) : []) {
      await engine.json('DELETE', `/networks/${n.Id}`, undefined, [403, 404, 409]).catch(() => {});
    }
  } finally {
    await engine.pool.close();
  }
  return removed;
}
