// Shared by the benchmarks: stop spawned components, and hollow nodes (kubelets on the in-memory
// fake runtime, in this process) that register and run pods without Docker.
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import type { Started } from '../launcher/components.ts';
import { isAlive } from '../launcher/state.ts';
import type { ApiClient } from '../client/index.ts';
import { FakeRuntime } from '../kubelet/cri/fake/runtime.ts';
import { Kubelet } from '../kubelet/kubelet.ts';

export async function stopAll(cs: Started[]): Promise<void> {
  for (const c of [...cs].reverse()) {
    if (!isAlive(c.pid)) continue;
    process.kill(c.pid, 'SIGTERM');
    for (let i = 0; i < 100 && isAlive(c.pid); i++) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
  }
}

/** Start `n` hollow nodes named hollow-0 …; resolves when all are registered. Abort the signal to stop them. */
export async function startHollowNodes(client: ApiClient, n: number, rootDir: string, signal: AbortSignal): Promise<void> {
  setMaxListeners(0, signal); // every hollow kubelet listens on it
  for (let i = 0; i < n; i++) {
    const rt = new FakeRuntime({ podCIDR: `10.${100 + (i >> 8)}.${i & 255}.0/24` });
    const k = new Kubelet({
      client, runtime: rt, images: rt, rootDir: path.join(rootDir, 'hollow', String(i)), nodeName: `hollow-${i}`, nodeIP: '127.0.0.1',
      // The fake runtime "pulls" in memory: no registry is contacted.
      allowRemotePull: true,
      kubeletPort: 0, runtimeVersion: 'fake://kubemu', simulateNetwork: true, cpu: '32', memory: '64Gi', maxPods: 110, syncIntervalMs: 5000, statusIntervalMs: 60_000,
    });
    void k.run(signal);
  }
  for (let i = 0; i < 600; i++) {
    const nodes = await client.list({ group: '', resource: 'nodes' }, undefined);
    if (nodes.items.filter((x) => x.metadata.name!.startsWith('hollow-')).length === n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`hollow nodes did not all register`);
}
