// `kubemu down` removes the pod containers of its nodes (found by the labels the runtime puts on them).
import { DockerEngine } from '../kubelet/cri/docker/engine.ts';
import { LABELS } from '../kubelet/cri/types.ts';

export async function removeNodeContainers(nodes: string[]): Promise<number> {
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
  } finally {
    await engine.pool.close();
  }
  return removed;
}
