// PodDisruptionBudgets, ResourceQuotas and LimitRanges on a `kubemu up` cluster of three hollow nodes, driven by
// the real kubectl: `kubectl create pdb` and `get pdb`, a drain that waits for the budget (429s retried) and
// finishes once replacements are Ready elsewhere, `kubectl create quota`, the third pod over a quota of 2 refused
// with Kubernetes' message, `describe quota`, and LimitRange defaults on a pod that sets no resources.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';

const run = promisify(execFile);

describe('quotas and budgets (hollow nodes, real kubectl)', () => {
  let c: KubemuCluster;
  let nodes: string[];
  /** kubectl that may fail: its exit code, stdout and stderr. */
  const kubectlResult = async (...args: string[]) => kubectlAs('kubectl', ...args);
  const kubectlAs = async (bin: string, ...args: string[]) => {
    try {
      const { stdout, stderr } = await run(bin, ['--kubeconfig', path.join(c.dir, 'kubeconfig'), ...args], { encoding: 'utf8', env: { ...process.env, HOME: c.dir }, timeout: 240_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  const podsOf = async (ns: string, app: string): Promise<any[]> => JSON.parse(await c.kubectl('get', 'pods', '-n', ns, '-l', `app=${app}`, '-o', 'json')).items;

  before(async () => {
    c = await startCluster('policy', ['--runtime', 'fake', '--nodes', '3']);
    nodes = (await c.kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}')).trim().split(/\s+/).sort();
    assert.equal(nodes.length, 3);
  });
  after(() => c?.down());

  test('kubectl create pdb, get pdb, and a drain that waits for the budget', async () => {
    await c.kubectl('create', 'namespace', 'pdb');
    // All three replicas start on the first node, so draining it must wait for replacements elsewhere.
    await c.kubectl('cordon', nodes[1]!, nodes[2]!);
    await c.kubectl('create', 'deployment', 'web', '-n', 'pdb', '--image=nginx', '--replicas=3');
    await until('3 web pods Ready on the first node', async () => {
      const ps = await podsOf('pdb', 'web');
      return ps.length === 3 && ps.every((p) => p.spec.nodeName === nodes[0] && p.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'));
    }, 90_000);
    assert.match(await c.kubectl('create', 'pdb', 'web', '-n', 'pdb', '--selector=app=web', '--min-available=2'), /poddisruptionbudget.policy\/web created/);
    const table = await until('ALLOWED DISRUPTIONS 1', async () => {
      const out = await c.kubectl('get', 'pdb', '-n', 'pdb');
      return /web\s+2\s+N\/A\s+1\s+\S+/.test(out) ? out : undefined;
    }, 60_000);
    assert.match(table, /^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE$/m);
    await c.kubectl('uncordon', nodes[1]!, nodes[2]!);

    const drain = await kubectlResult('drain', nodes[0]!, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=180s');
    assert.equal(drain.code, 0, `${drain.stdout}\n${drain.stderr}`);
    const out = drain.stdout + drain.stderr;
    // kubectl prints each 429 it retries with the server's message.
    assert.match(out, /error when evicting pods\/"web-[^"]+" -n "pdb" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./);
    assert.match(out, new RegExp(`node/${nodes[0]} drained`));
    const after = await podsOf('pdb', 'web');
    assert.ok(after.filter((p) => !p.metadata.deletionTimestamp).every((p) => p.spec.nodeName !== nodes[0]), 'nothing left on the drained node');
    await c.kubectl('uncordon', nodes[0]!);
    // kubectl 1.27 drains the same way (policy/v1 Evictions, found through discovery).
    const old = path.join(path.dirname(fs.realpathSync(execFileSync('which', ['kubectl']).toString().trim())), 'kubectl.1.27');
    const drain27 = await kubectlAs(old, 'drain', nodes[1]!, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=180s');
    assert.equal(drain27.code, 0, `${drain27.stdout}\n${drain27.stderr}`);
    assert.match(drain27.stdout + drain27.stderr, new RegExp(`node/${nodes[1]} drained`));
    await c.kubectl('uncordon', nodes[1]!);
  });

  test('kubectl create quota: the third pod over a quota of 2 is refused with Kubernetes\' message; describe quota', async () => {
    await c.kubectl('create', 'namespace', 'quota');
    await c.kubectl('create', 'quota', 'two-pods', '-n', 'quota', '--hard=pods=2,requests.cpu=1');
    await until('quota counted', async () => /pods: 0\/2, requests.cpu: 0\/1/.test(await c.kubectl('get', 'quota', '-n', 'quota')), 60_000);
    assert.match(await c.kubectl('get', 'quota', '-n', 'quota'), /^NAME\s+AGE\s+REQUEST\s+LIMIT$/m);
    const cpu = (name: string) => ['run', name, '-n', 'quota', '--image=nginx', '--overrides={"spec":{"containers":[{"name":"' + name + '","image":"nginx","resources":{"requests":{"cpu":"100m"}}}]}}'];
    await c.kubectl(...cpu('p1'));
    await c.kubectl(...cpu('p2'));
    const third = await kubectlResult(...cpu('p3'));
    assert.notEqual(third.code, 0);
    assert.equal(third.stderr.trim(), 'Error from server (Forbidden): pods "p3" is forbidden: exceeded quota: two-pods, requested: pods=1, used: pods=2, limited: pods=2');
    const bare = await kubectlResult('run', 'bare', '-n', 'quota', '--image=nginx');
    assert.equal(bare.stderr.trim(), 'Error from server (Forbidden): pods "bare" is forbidden: failed quota: two-pods: must specify requests.cpu for: bare');
    const described = await c.kubectl('describe', 'quota', 'two-pods', '-n', 'quota');
    assert.match(described, /^Resource\s+Used\s+Hard$/m);
    assert.match(described, /^pods\s+2\s+2$/m);
    assert.match(described, /^requests.cpu\s+200m\s+1$/m);
  });

  test('a LimitRange gives a pod without requests its defaults; kubectl get limits', async () => {
    await c.kubectl('create', 'namespace', 'limits');
    const manifest = path.join(c.dir, 'limits.yaml');
    fs.writeFileSync(manifest, [
      'apiVersion: v1', 'kind: LimitRange', 'metadata: {name: defaults, namespace: limits}',
      'spec:', '  limits:', '  - type: Container', '    default: {cpu: 500m, memory: 256Mi}', '    defaultRequest: {cpu: 100m, memory: 64Mi}', '    max: {cpu: "1"}', '',
    ].join('\n'));
    await c.kubectl('apply', '-f', manifest);
    assert.match(await c.kubectl('get', 'limits', '-n', 'limits'), /^NAME\s+CREATED AT\ndefaults\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    await c.kubectl('run', 'plain', '-n', 'limits', '--image=nginx');
    const pod = JSON.parse(await c.kubectl('get', 'pod', 'plain', '-n', 'limits', '-o', 'json'));
    assert.deepEqual(pod.spec.containers[0].resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '64Mi' } });
    assert.equal(pod.metadata.annotations['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: cpu, memory request for container plain; cpu, memory limit for container plain');
    const big = await kubectlResult('run', 'big', '-n', 'limits', '--image=nginx', '--overrides={"spec":{"containers":[{"name":"big","image":"nginx","resources":{"limits":{"cpu":"2"}}}]}}');
    assert.equal(big.stderr.trim(), 'Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
  });
});
