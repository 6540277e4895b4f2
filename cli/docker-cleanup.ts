// `kubemu down` removes the pod containers of its nodes (found by the labels the runtime puts on them).
import { DockerEngine } from '../kubelet/cri/docker/engine.ts';
import { LABELS } from '../kubelet/cri/types.ts';

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
    }
    // The cluster's Docker network goes too, unless something else still uses it.
    await engine.json('DELETE', `/networks/${encodeURIComponent(network)}`, undefined, [403, 404, 409]).catch(() => {});
  } finally {
    await engine.pool.close();
  }
  return removed;
}
