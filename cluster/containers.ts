// Pod containers behind the kubelet's back, through the Docker Engine API: found by the labels the
// Docker runtime puts on them (managed, node, pod namespace/name, container name).
import { DockerEngine, LABELS } from '../kubelet/public.ts';
import { UnknownTargetError } from './targets.ts';

interface ContainerSummary { Id: string; State: string; Labels: Record<string, string> }

async function withEngine<T>(fn: (engine: DockerEngine) => Promise<T>): Promise<T> {
  const engine = new DockerEngine({ connections: 2 });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

function list(engine: DockerEngine, labels: Record<string, string>): Promise<ContainerSummary[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: Object.entries({ [LABELS.managed]: 'true', ...labels }).map(([k, v]) => `${k}=${v}`) }));
  return engine.json('GET', `/containers/json?all=true&filters=${filters}`);
}

/** SIGKILLs every running pod container of the node (sandboxes too), as a machine losing power would; returns how many. */
export function killNodeContainers(node: string): Promise<number> {
  return withEngine(async (engine) => {
    let killed = 0;
    for (const c of await list(engine, { [LABELS.node]: node })) {
      if (c.State !== 'running' && c.State !== 'paused') continue; // Docker kills a paused one too
      await engine.json('POST', `/containers/${c.Id}/kill?signal=SIGKILL`, undefined, [404, 409]);
      killed++;
    }
    return killed;
  });
}

/**
 * docker pause (or unpause) of one container of a pod on one of these nodes. The kubelet is not told:
 * to it the container still runs. Errors name the containers the pod does have.
 */
export function setPaused(nodes: string[], namespace: string, pod: string, container: string, paused: boolean): Promise<{ id: string; node: string }> {
  return withEngine(async (engine) => {
    const ours = (await list(engine, { [LABELS.podNamespace]: namespace, [LABELS.podName]: pod }))
      .filter((c) => nodes.includes(c.Labels[LABELS.node]) && c.Labels[LABELS.containerName] !== 'POD');
    if (!ours.length) throw new UnknownTargetError(`no containers of pod ${namespace}/${pod} on this cluster's nodes (${nodes.join(', ')})`);
    const named = ours.filter((c) => c.Labels[LABELS.containerName] === container);
    const names = [...new Set(ours.map((c) => c.Labels[LABELS.containerName]))].join(', ');
    if (!named.length) throw new UnknownTargetError(`pod ${namespace}/${pod} has no container "${container}"; containers: ${names}`);
    const from = paused ? 'running' : 'paused';
    const target = named.find((c) => c.State === from);
    if (!target) throw new Error(`container ${container} of pod ${namespace}/${pod} is not ${from} (${named.map((c) => c.State).join(', ')})`);
    await engine.json('POST', `/containers/${target.Id}/${paused ? 'pause' : 'unpause'}`);
    return { id: target.Id, node: target.Labels[LABELS.node] };
  });
}
