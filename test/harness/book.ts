// The "Kubernetes in Action" manifests of examples/book/ on a cluster: label every node disk=ssd (the DaemonSet's
// nodeSelector), apply them, wait until every pod, ReplicaSet, DaemonSet, Job and Deployment is where the book says,
// then remove the namespace. Shared by the Docker and the hollow-node e2e files.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, until } from './kubemu-cluster.ts';

type Kubectl = (...args: string[]) => Promise<string>;
type Obj = Record<string, any>;

export async function runBookManifests(kubectl: Kubectl, opts: { docker: boolean }): Promise<void> {
  const json = async (...args: string[]) => JSON.parse(await kubectl(...args, '-o', 'json'));
  const nodes = (await json('get', 'nodes')).items.map((n: Obj) => n.metadata.name as string);
  for (const n of nodes) await kubectl('label', 'node', n, 'disk=ssd', '--overwrite');
  try {
    await kubectl('apply', '-f', path.join(ROOT, 'examples/book/00-namespace.yaml'));
    await kubectl('apply', '-f', path.join(ROOT, 'examples/book/'));
    const ready = (p: Obj) => p.status?.conditions?.some((c: Obj) => c.type === 'Ready' && c.status === 'True');
    for (const name of ['kubia-manual', 'kubia-liveness', 'fortune', 'fortune-tmpfs', 'fortune-env-from-configmap', 'downward']) {
      await until(`pod ${name} Ready`, async () => ready(await json('get', 'pod', name, '-n', 'book')), 120_000);
    }
    await until('ReplicaSet kubia 3/3', async () => (await json('get', 'rs', 'kubia', '-n', 'book')).status?.readyReplicas === 3, 120_000);
    await until(`DaemonSet ssd-monitor on all ${nodes.length} nodes`, async () => {
      const ds = (await json('get', 'ds', 'ssd-monitor', '-n', 'book')).status ?? {};
      return ds.desiredNumberScheduled === nodes.length && ds.numberReady === nodes.length;
    }, 120_000);
    await until('Job batch-job complete', async () => (await json('get', 'job', 'batch-job', '-n', 'book')).status?.succeeded === 1, 120_000);
    await until('Job multi-completion-batch-job 3 completions', async () => (await json('get', 'job', 'multi-completion-batch-job', '-n', 'book')).status?.succeeded === 3, 180_000);
    await until('Deployment kubia available', async () => (await json('get', 'deploy', 'kubia', '-n', 'book')).status?.availableReplicas === 3, 120_000);
    assert.equal((await kubectl('get', 'pods', '-n', 'book', '-l', 'creation_method=manual', '-o', 'name')).trim(), 'pod/kubia-manual');
    if (opts.docker) {
      // Only real containers can show what they did.
      assert.match(await kubectl('logs', 'fortune-env-from-configmap', '-n', 'book'), /^interval is 25\nserver \{ listen 80; gzip on; \}/);
      assert.match(await kubectl('exec', 'downward', '-n', 'book', '--', 'cat', '/etc/downward/labels'), /^foo="bar"$/m);
      assert.match(await kubectl('exec', 'downward', '-n', 'book', '--', 'sh', '-c', 'echo $CONTAINER_CPU_REQUEST_MILLICORES $CONTAINER_MEMORY_LIMIT_KIBIBYTES'), /^15 40960$/m);
      assert.match(await kubectl('exec', 'fortune', '-n', 'book', '-c', 'web-server', '--', 'wget', '-qO-', 'http://127.0.0.1/'), /^fortune at /);
      assert.match(await kubectl('logs', 'fortune-tmpfs', '-n', 'book'), /^tmpfs\s+8\.0M/m);
    }
  } finally {
    await kubectl('delete', 'namespace', 'book', '--wait=false').catch(() => '');
    for (const n of nodes) await kubectl('label', 'node', n, 'disk-').catch(() => '');
  }
}
