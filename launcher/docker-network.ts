// The cluster's Docker network, created by `kubemu up` before the kubelets (which would create it
// on their first pod) because the cluster DNS listens on its gateway: the host's own address on
// the pod network, which pods reach directly.
import { DockerEngine, LABELS } from '../kubelet/public.ts';

interface NetworkInfo { Id: string; Name: string; Created: string; IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> } }

/** The Docker networks named exactly `name` (the API's name filter also matches parts of names), oldest
 *  first: Docker allows duplicates, and two creators racing can leave two. */
export async function networksNamed(engine: DockerEngine, name: string): Promise<NetworkInfo[]> {
  const filters = encodeURIComponent(JSON.stringify({ name: [name] }));
  const list: NetworkInfo[] = await engine.json('GET', `/networks?filters=${filters}`);
  // Oldest first, as the kubelets choose (kubelet/cri/docker/runtime.ts): by time, since Docker trims the fraction's zeros.
  return list.filter((n) => n.Name === name).sort((a, b) => Date.parse(a.Created) - Date.parse(b.Created) || a.Created.localeCompare(b.Created) || a.Id.localeCompare(b.Id));
}

export async function ensureClusterNetwork(network: string): Promise<{ id: string; gateway: string; subnet: string }> {
  const engine = new DockerEngine({});
  try {
    let nets = await networksNamed(engine, network);
    if (!nets.length) {
      await engine.json('POST', '/networks/create', { Name: network, Driver: 'bridge', CheckDuplicate: true, Labels: { [LABELS.managed]: 'true' } }, [409]);
      nets = await networksNamed(engine, network);
    }
    const info: NetworkInfo = await engine.json('GET', `/networks/${nets[0].Id}`);
    const cfg = info.IPAM?.Config?.find((c) => c.Gateway && c.Subnet && !c.Subnet.includes(':'));
    if (!cfg) throw new Error(`Docker network ${network} has no IPv4 gateway`);
    return { id: info.Id, gateway: cfg.Gateway!, subnet: cfg.Subnet! };
  } finally {
    await engine.pool.close();
  }
}
