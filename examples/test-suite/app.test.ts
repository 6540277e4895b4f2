// An integration test suite that uses kubemu as its cluster: the way a project would test its own
// app against real Kubernetes parts. Run it with `node --import tsx --test examples/test-suite/`
// (the project's `npm test` runs it too). See docs/testing.md.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { Cluster, waitFor, waitForDeployment } from 'kubemu';

const PODS = { group: '', resource: 'pods' };

/** GET on a new connection; the body (the answering pod's name). */
function get(url: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve(body.trim())).on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`))).on('error', reject);
  });
}

/** get(), retrying a refused connection for up to `graceMs`. On the host, ClusterIPs are served by one
 *  kube-proxy (the holder of a lease). When the node that dies is its node, another kube-proxy takes them
 *  over within about a second, and a connection made in between is refused. */
async function getThroughFailover(url: string, graceMs = 5000): Promise<string> {
  const end = Date.now() + graceMs;
  for (;;) {
    try {
      return await get(url);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('my app on a 3-node cluster', () => {
  let cluster: Cluster;
  let url = '';

  before(async () => {
    // Short node timeouts so a dead node is noticed in seconds, not the default 40 s + 5 min.
    cluster = await Cluster.start({ nodes: 3, nodeMonitorGracePeriod: 6, podEvictionTimeout: 2 });
    const { client } = cluster;
    await client.create({ group: 'apps', resource: 'deployments' }, 'default', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: {
        replicas: 3, selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            // The scheduler spreads a Deployment's pods over the nodes, so a dead node takes one of them.
            containers: [{ name: 'web', image: 'kubemu/hello:1', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/cgi-bin/healthz', port: 'http' }, periodSeconds: 1 } }],
          },
        },
      },
    });
    const svc = await client.create({ group: '', resource: 'services' }, 'default', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] },
    });
    url = `http://${svc.spec.clusterIP}:80/`;
    await waitForDeployment(client, 'default', 'web', { timeoutMs: 120_000 });
    await waitFor(cluster.client, 'endpoints', 'default', 'web', (ep: any) => ep.subsets?.[0]?.addresses?.length === 3, { what: 'listing 3 ready pods' });
  });

  after(async () => {
    if (!cluster) return;
    // On failure, keep every component's log where CI can pick it up.
    if (process.exitCode) await cluster.collectLogs(`/tmp/kubemu-test-suite-logs-${cluster.name}`);
    await cluster.stop();
  });

  test('the Service answers from every pod', async () => {
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add(await get(url));
    assert.equal(answers.size, 3, `answered by ${[...answers].join(', ')}`);
  });

  test('a node dies: the app keeps answering through the Service, and its replica comes back on another node', async () => {
    // The hardest case: the node whose kube-proxy serves the ClusterIPs on this host (the lease holder,
    // identity `<host>_<node>_<pid>`) dies with one of the app's pods.
    const leases = (await cluster.client.list({ group: 'coordination.k8s.io', resource: 'leases' }, 'kube-system')).items;
    const holder: string = leases.find((l: any) => l.metadata.name.startsWith('kube-proxy-cluster-ips.'))?.spec?.holderIdentity ?? '';
    const pods = (await cluster.client.list(PODS, 'default', { labelSelector: 'app=web' })).items;
    const victim = pods.find((p: any) => holder.split('_')[1] === p.spec.nodeName) ?? pods[0];
    const deadNode = victim.spec.nodeName;
    await cluster.stopNode(deadNode);

    // Keep asking while the control plane notices: node NotReady → its pod evicted → a replacement Ready.
    const readyElsewhere = async () => {
      const now = (await cluster.client.list(PODS, 'default', { labelSelector: 'app=web' })).items.filter((p: any) => !p.metadata.deletionTimestamp);
      const ready = now.filter((p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === 3 && ready.every((p: any) => p.spec.nodeName !== deadNode) && !now.some((p: any) => p.metadata.uid === victim.metadata.uid);
    };
    const answeredBy: string[] = [];
    const deadline = Date.now() + 120_000;
    while (!(await readyElsewhere())) {
      assert.ok(Date.now() < deadline, 'the replica did not come back on another node within 120 s');
      answeredBy.push(await getThroughFailover(url));
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(answeredBy.length > 0 && answeredBy.every((name) => name.startsWith('web-')), `every request was answered by a pod: ${answeredBy.join(' ')}`);
    await waitForDeployment(cluster.client, 'default', 'web');
    await cluster.startNode(deadNode);
  });

  test('restarting the apiserver loses nothing', async () => {
    const { client } = cluster;
    await client.create({ group: '', resource: 'configmaps' }, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { color: 'blue' } });
    const before = (await client.list(PODS, 'default')).items.map((p: any) => p.metadata.uid).sort();
    await cluster.restart('apiserver');
    const cm = await client.get({ group: '', resource: 'configmaps' }, 'default', 'settings');
    assert.deepEqual(cm.data, { color: 'blue' });
    const after = (await client.list(PODS, 'default')).items.map((p: any) => p.metadata.uid).sort();
    assert.deepEqual(after, before, 'the same pods, with the same uids');
    assert.equal((await get(url)).startsWith('web-'), true, 'the app still answers');
  });

  test('tear-down leaves no process, container, network, interface address or file behind', async () => {
    const pids = cluster.components().map((c) => c.pid);
    const { dir, nodes } = cluster;
    const network = `kubemu-${cluster.name}`;
    await cluster.stop();
    // A process is gone when /proc has no entry for it, or only a zombie's (exited, not yet reaped).
    const running = (pid: number) => { try { return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; } };
    for (const pid of pids) assert.equal(running(pid), false, `process ${pid} still running`);
    for (const n of nodes) {
      const left = execFileSync('docker', ['ps', '-aq', '--filter', `label=io.kubemu.node=${n.name}`], { encoding: 'utf8' }).trim();
      assert.equal(left, '', `containers of ${n.name} left`);
    }
    assert.equal(execFileSync('docker', ['network', 'ls', '-q', '--filter', `name=^${network}$`], { encoding: 'utf8' }).trim(), '', 'the Docker network is gone');
    const clusterIP = new URL(url).hostname;
    assert.doesNotMatch(execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }), new RegExp(`inet ${clusterIP.replace(/\./g, '\\.')}/`), 'the ClusterIP is off kubemu0');
    assert.equal(fs.existsSync(dir), false, `${dir} is gone`);
  });
});
