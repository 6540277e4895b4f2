// A multi-host lab on one machine: three "hosts" are network namespaces, each joined to the host by
// a veth pair, and the control plane runs on the host (`kubemu up --nodes 0 --bind-address` on an
// address of a bridge this test creates, with --token-auth). Each node is `kubemu join`ed from
// inside its namespace (`ip netns exec`), so its kubelet and kube-proxy reach the apiserver only
// over their veth link, and the apiserver reaches each kubelet API at the node's veth address. The
// Docker socket is a unix socket: pods still run on the shared engine and its bridge network.
// Cutting one link (`ip link set … down` on the host side) is a real network partition of that node:
// it goes NotReady, its pods are replaced on the others; restoring the link brings it back Ready
// and its old pods go away, without duplicates. docs/multi-host.md walks through the same on real hosts.
//
// Addresses: 10.214.0.0/24, which nothing else on this machine routes (checked before anything is
// created): the apiserver on 10.214.0.1/32 (bridge kml<id>api), node N on a /30: host side
// 10.214.0.(4N+1), namespace side 10.214.0.(4N+2).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../lib/free-port.ts';
import { isAlive, readState } from '../../launcher/state.ts';
import { ensureClusterNetwork } from '../../launcher/docker-network.ts';
import { removeNodeContainers } from '../../launcher/docker-cleanup.ts';
import { adminTls } from '../../launcher/pki.ts';
import { tlsFetch } from '../../lib/tls-fetch.ts';
import { inspectCertificate } from '../../lib/pki.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import type { KubeObject } from '../../api/types.ts';
import { ROOT, until } from '../harness/kubemu-cluster.ts';

const run = promisify(execFile);
const ID = process.pid % 10000;
const NAME = `lab${ID}`;
const NETWORK = `kubemu-${NAME}`;
const SUBNET = '10.214.0.0/24';
const API_IP = '10.214.0.1';
const NODES = [1, 2, 3].map((n) => ({
  n, name: `${NAME}-n${n}`, netns: `kml${ID}-${n}`, hostIf: `kml${ID}h${n}`,
  hostIP: `10.214.0.${4 * n + 1}`, nodeIP: `10.214.0.${4 * n + 2}`,
}));
const BRIDGE = `kml${ID}api`;
const PODS = { group: '', resource: 'pods' };
const NODES_RES = { group: '', resource: 'nodes' };
const DEPLOYMENTS = { group: 'apps', resource: 'deployments' };
const REPLICAS = 6;

/** A command that must succeed (ip, docker). */
const sh = (cmd: string, ...args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
  return r.stdout;
};
/** Best effort, for cleanup. */
const tryRun = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000 });
/** `kubemu …`, inside a node's namespace when `netns` is given. */
const kubemu = async (netns: string | undefined, ...args: string[]): Promise<{ code: number; out: string }> => {
  const argv = [process.execPath, path.join(ROOT, 'bin/kubemu.js'), ...args];
  const [cmd, ...rest] = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
  try {
    const r = await run(cmd, rest, { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
};

const isRoot = process.getuid?.() === 0;
const hasNetns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).status === 0;
const why = !isRoot ? 'needs root (network namespaces, veth pairs)' : !hasNetns ? '`ip netns` is not available' : '';

const ready = (node: KubeObject) => (node.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
const podReady = (p: KubeObject) => (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');

/** Running app containers of the Deployment per node, from Docker's own labels (not the API's view). */
async function containersByNode(): Promise<Map<string, string[]>> {
  const out = (await run('docker', ['ps', '--filter', `label=io.kubernetes.container.name=hello`, '--filter', 'label=io.kubernetes.pod.namespace=default',
    '--format', '{{.Label "io.kubemu.node"}} {{.Label "io.kubernetes.pod.uid"}}'], { encoding: 'utf8' })).stdout;
  const m = new Map<string, string[]>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [node, uid] = line.split(' ');
    if (NODES.some((n) => n.name === node)) m.set(node, [...(m.get(node) ?? []), uid]);
  }
  return m;
}

describe('multi-host lab: nodes in their own network namespaces, joined over veth links', { skip: why || false }, () => {
  const upDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-lab-'));
  const joinDir = (n: number) => path.join(upDir, `host-${n}`);
  let port = 0;
  let server = '';
  let joinToken = '';
  let caHash = '';
  let client: ApiClient;
  const forwardRule: string[] = [];
  const deploymentPods = async () => (await client.list(PODS, 'default', { labelSelector: 'app=lab-hello' })).items;

  before(async () => {
    // Leftovers of an earlier run that was killed (its pid in the names is gone): take them away first.
    for (const line of tryRun('ip', 'netns', 'list').stdout.split('\n')) {
      const m = /^kml(\d+)-\d\b/.exec(line);
      if (m && Number(m[1]) !== ID && !isAlive(Number(m[1]))) tryRun('ip', 'netns', 'del', line.split(' ')[0]);
    }
    for (const line of tryRun('ip', '-o', 'link', 'show').stdout.split('\n')) {
      const m = /^\d+: (kml(\d+)(?:h\d|api))[@:]/.exec(line);
      if (m && Number(m[2]) !== ID && !isAlive(Number(m[2]))) tryRun('ip', 'link', 'del', m[1]);
    }
    const routes = sh('ip', 'route').split('\n').filter((l) => l.startsWith('10.214.'));
    assert.deepEqual(routes, [], `${SUBNET} must not be routed on this machine before the lab creates it: ${routes.join('; ')}`);

    sh('ip', 'link', 'add', BRIDGE, 'type', 'bridge');
    sh('ip', 'addr', 'add', `${API_IP}/32`, 'dev', BRIDGE);
    sh('ip', 'link', 'set', BRIDGE, 'up');
    for (const n of NODES) {
      sh('ip', 'netns', 'add', n.netns);
      sh('ip', 'link', 'add', n.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.netns);
      sh('ip', 'addr', 'add', `${n.hostIP}/30`, 'dev', n.hostIf);
      sh('ip', 'link', 'set', n.hostIf, 'up');
      const inNs = (...a: string[]) => sh('ip', 'netns', 'exec', n.netns, 'ip', ...a);
      inNs('link', 'set', 'lo', 'up');
      inNs('addr', 'add', `${n.nodeIP}/30`, 'dev', 'eth0');
      inNs('link', 'set', 'eth0', 'up');
      inNs('route', 'add', 'default', 'via', n.hostIP);
    }
    // The pod network all three "hosts" share (on real hosts: the swarm overlay). Created once here, so
    // three kubelets starting together do not each create one.
    const podNet = await ensureClusterNetwork(NETWORK);
    // A node reaches the pods it runs (the kubelet probes them at their pod IPs), as on any real cluster: Docker's
    // FORWARD policy drops what arrives from elsewhere, so let the lab's links into the pod bridge (replies are
    // already allowed). Removed in after().
    forwardRule.push('-i', `kml${ID}h+`, '-o', `br-${podNet.id.slice(0, 12)}`, '-m', 'comment', '--comment', `kubemu-lab-${ID}`, '-j', 'ACCEPT');
    sh('iptables', '-w', '5', '-I', 'DOCKER-USER', ...forwardRule);

    port = await freePort();
    const up = await kubemu(undefined, 'up', '--dir', upDir, '--name', NAME, '--nodes', '0', '--bind-address', API_IP, '--token-auth',
      '--port', String(port), '--grpc-port', String(await freePort()), '--node-monitor-grace-period', '6', '--pod-eviction-timeout', '2');
    assert.equal(up.code, 0, up.out);
    server = `https://${API_IP}:${port}`;
    assert.match(up.out, new RegExp(`join other hosts with: kubemu join --apiserver ${server.replace(/\./g, '\\.')} --token \\S+ --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}`), up.out);
    caHash = /--discovery-token-ca-cert-hash (\S+)/.exec(up.out)![1];
    const tokens = fs.readFileSync(path.join(upDir, 'tokens.csv'), 'utf8').split('\n');
    // The join token is a bootstrap token: the kube-system Secret bootstrap-token-<id> the apiserver checks it against.
    joinToken = fs.readFileSync(path.join(upDir, 'pki', 'join-token'), 'utf8').trim();
    assert.match(up.out, new RegExp(`--token ${joinToken.replace('.', '\\.')} `));
    const adminToken = tokens.find((l) => l.includes(',kubemu-admin,'))!.split(',')[0];
    client = createApiClient({ transport: 'http', server, token: adminToken, tls: adminTls(upDir) });
    const secret = await client.get({ group: '', resource: 'secrets' }, 'kube-system', `bootstrap-token-${joinToken.split('.')[0]}`);
    assert.equal((secret as { type?: string }).type, 'bootstrap.kubernetes.io/token');
  });

  after(async () => {
    await client?.close();
    if (process.exitCode || process.env.KUBEMU_KEEP_LOGS) {
      for (const d of [upDir, ...NODES.map((n) => joinDir(n.n))]) {
        if (fs.existsSync(path.join(d, 'logs'))) fs.cpSync(path.join(d, 'logs'), `/tmp/kubemu-e2e-logs-${NAME}/${path.basename(d)}`, { recursive: true, force: true });
      }
    }
    const problems: string[] = [];
    // Each joined host leaves (inside its namespace: its kube-proxy's rules live there), then the control plane goes.
    for (const n of NODES) {
      if (!fs.existsSync(path.join(joinDir(n.n), 'state.json'))) continue;
      const r = await kubemu(fs.existsSync(`/run/netns/${n.netns}`) ? n.netns : undefined, 'down', '--dir', joinDir(n.n));
      if (r.code !== 0) problems.push(`down ${n.name}: ${r.out}`);
    }
    const down = await kubemu(undefined, 'down', '--dir', upDir, '--purge');
    if (down.code !== 0) problems.push(`down control plane: ${down.out}`);
    await removeNodeContainers(NODES.map((n) => n.name), NETWORK).catch((err) => problems.push(String(err)));
    for (const n of NODES) { tryRun('ip', 'netns', 'del', n.netns); tryRun('ip', 'link', 'del', n.hostIf); }
    tryRun('ip', 'link', 'del', BRIDGE);
    if (forwardRule.length && tryRun('iptables', '-w', '5', '-D', 'DOCKER-USER', ...forwardRule).status !== 0) problems.push('could not remove the DOCKER-USER rule');
    fs.rmSync(upDir, { recursive: true, force: true });
    const left = [
      ...tryRun('ip', 'netns', 'list').stdout.split('\n').filter((l) => l.startsWith(`kml${ID}-`)),
      ...tryRun('ip', 'route').stdout.split('\n').filter((l) => l.startsWith('10.214.')),
    ];
    for (const n of NODES) left.push(...tryRun('docker', 'ps', '-aq', '--filter', `label=io.kubemu.node=${n.name}`).stdout.split('\n').filter(Boolean));
    assert.deepEqual([...problems, ...left], [], 'the lab cleaned up after itself');
  });

  test('credentials only in files of mode 0600: no token on a component\'s command line, state.json and the kubeconfig unreadable to others', async () => {
    const adminToken = fs.readFileSync(path.join(upDir, 'tokens.csv'), 'utf8').split('\n').find((l) => l.includes(',kubemu-admin,'))!.split(',')[0];
    const state = JSON.parse(fs.readFileSync(path.join(upDir, 'state.json'), 'utf8'));
    const argvs: string[][] = state.components.map((c: { argv: string[] }) => c.argv);
    assert.ok(argvs.some((a) => a.includes('--token-file')), 'the components read their token from a file');
    for (const a of argvs) assert.equal(a.join(' ').includes(adminToken), false, `a token on the command line: ${a.join(' ')}`);
    for (const f of ['state.json', 'kubeconfig', 'tokens.csv', 'pki/component-token', 'pki/sa.key', 'pki/encryption-config.yaml']) {
      assert.equal(fs.statSync(path.join(upDir, f)).mode & 0o077, 0, `${f} is readable by others`);
    }
    // What `ps` shows every user: no process of this cluster has the token in its arguments.
    const ps = tryRun('ps', '-eo', 'args').stdout;
    assert.equal(ps.includes(adminToken), false);
  });

  test('kubemu join refuses a bad token and an address where no apiserver listens, with clear errors', async () => {
    const bad = await kubemu(NODES[0].netns, 'join', '--apiserver', server, '--token', 'nope.nope', '--discovery-token-ca-cert-hash', caHash, '--name', NODES[0].name, '--dir', joinDir(9));
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /rejected the token \(401 Unauthorized\)/);
    const none = await kubemu(NODES[0].netns, 'join', '--apiserver', `https://${API_IP}:${port === 65535 ? 65534 : port + 1}`, '--token', joinToken, '--discovery-token-ca-cert-hash', caHash, '--dir', joinDir(9));
    assert.notEqual(none.code, 0);
    assert.match(none.out, /cannot reach the apiserver at .*connection refused/);
    assert.ok(!fs.existsSync(path.join(joinDir(9), 'state.json')), 'a failed join leaves nothing running');
  });

  test('three hosts join over their veth links and become Ready; a second node of the same name is refused', async () => {
    const joins = await Promise.all(NODES.map((n) => kubemu(n.netns, 'join', '--apiserver', server, '--token', joinToken, '--discovery-token-ca-cert-hash', caHash, '--name', n.name,
      '--network', NETWORK, '--node-monitor-grace-period', '6', '--dir', joinDir(n.n))));
    joins.forEach((j, i) => {
      assert.equal(j.code, 0, j.out);
      assert.match(j.out, new RegExp(`node IP ${NODES[i].nodeIP.replace(/\./g, '\\.')}`), j.out);
      assert.match(j.out, new RegExp(`node ${NODES[i].name} Ready`), j.out);
      assert.match(j.out, new RegExp(`issued: certificate of system:node:${NODES[i].name}`), j.out);
    });
    // The TLS bootstrap: each node's client certificate came from a CSR its bootstrap token made, approved and signed
    // by the controller manager, and names the node; its kubelet and kube-proxy run with it, and no token.
    const csrs = (await client.list({ group: 'certificates.k8s.io', resource: 'certificatesigningrequests' }, undefined)).items as any[];
    const ca = adminTls(upDir)!.ca!;
    for (const n of NODES) {
      const pem = fs.readFileSync(path.join(joinDir(n.n), 'pki', 'kubelet-client-current.pem'), 'utf8');
      const info = inspectCertificate(pem);
      assert.deepEqual([info.commonName, info.organizations], [`system:node:${n.name}`, ['system:nodes']]);
      assert.equal(await info.signedBy(ca), true);
      assert.equal(fs.statSync(path.join(joinDir(n.n), 'pki', 'kubelet-client-current.pem')).mode & 0o077, 0);
      const csr = csrs.find((c) => c.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet' && c.status?.certificate
        && inspectCertificate(Buffer.from(c.status.certificate, 'base64').toString()).commonName === `system:node:${n.name}`);
      assert.ok(csr, `an issued client CSR for ${n.name}`);
      assert.equal(csr.spec.username, `system:bootstrap:${joinToken.split('.')[0]}`);
      assert.ok(csr.status.conditions.some((c: { type: string }) => c.type === 'Approved'));
      const argv = readState(joinDir(n.n))!.components.map((c) => (c.argv ?? []).join(' '));
      assert.ok(argv.every((a) => !a.includes(joinToken)), 'no component has the join token');
    }
    const nodes = (await client.list(NODES_RES, undefined)).items;
    for (const n of NODES) {
      const node = nodes.find((x) => x.metadata.name === n.name);
      assert.ok(node && ready(node), `${n.name} Ready`);
      assert.ok(node.status.addresses.some((a: { type: string; address: string }) => a.type === 'InternalIP' && a.address === n.nodeIP), JSON.stringify(node.status.addresses));
    }
    // The kubelets really sit in their namespaces: each one's API answers on its veth address, from the host.
    for (const n of NODES) assert.equal((await tlsFetch(`https://${n.nodeIP}:10250/healthz`, { signal: AbortSignal.timeout(5000) }, { ca })).status, 200);
    // … over HTTPS with its own serving certificate, and to nobody without credentials.
    for (const n of NODES) assert.equal((await tlsFetch(`https://${n.nodeIP}:10250/pods`, { signal: AbortSignal.timeout(5000) }, { ca })).status, 401);
    // Each joined node's supervisor starts a killed kube-proxy again, in the node's namespace.
    const proxyOf = () => readState(joinDir(NODES[0].n))!.components.find((x) => x.name === `kube-proxy-${NODES[0].name}`)!;
    const killed = proxyOf().pid;
    process.kill(killed, 'SIGKILL');
    const back = await until('the kube-proxy restarted by its supervisor', async () => { const x = proxyOf(); return x.pid !== killed && isAlive(x.pid) && x; }, 30_000);
    assert.equal(back.supervised?.restarts, 1);
    const kubeletPid = readState(joinDir(NODES[0].n))!.components.find((x) => x.name === `kubelet-${NODES[0].name}`)!.pid;
    const netns = (pid: number | 'self') => fs.readlinkSync(`/proc/${pid}/ns/net`);
    assert.equal(netns(back.pid), netns(kubeletPid), 'in the node\'s network namespace, beside its kubelet');
    assert.notEqual(netns(back.pid), netns('self'));
    // A restart keeps the node's certificate: a killed kubelet comes back with the same one, asks for no new one, and is Ready.
    const certBefore = fs.readFileSync(path.join(joinDir(NODES[0].n), 'pki', 'kubelet-client-current.pem'), 'utf8');
    const csrCount = async () => (await client.list({ group: 'certificates.k8s.io', resource: 'certificatesigningrequests' }, undefined)).items.length;
    const before = await csrCount();
    const killedKubelet = kubeletPid;
    const t0 = Date.now();
    process.kill(killedKubelet, 'SIGKILL');
    await until('the kubelet restarted and its node Ready again', async () => {
      const k = readState(joinDir(NODES[0].n))!.components.find((x) => x.name === `kubelet-${NODES[0].name}`)!;
      if (k.pid === killedKubelet || !isAlive(k.pid)) return false;
      const lease = await client.get({ group: 'coordination.k8s.io', resource: 'leases' }, 'kube-node-lease', NODES[0].name);
      return Date.parse((lease as any).spec.renewTime) > t0 && ready(await client.get(NODES_RES, undefined, NODES[0].name));
    }, 60_000);
    assert.equal(fs.readFileSync(path.join(joinDir(NODES[0].n), 'pki', 'kubelet-client-current.pem'), 'utf8'), certBefore);
    assert.equal(await csrCount(), before);

    const dup = await kubemu(NODES[1].netns, 'join', '--apiserver', server, '--token', joinToken, '--discovery-token-ca-cert-hash', caHash, '--name', NODES[0].name, '--network', NETWORK, '--dir', joinDir(8));
    assert.notEqual(dup.code, 0);
    assert.match(dup.out, new RegExp(`a node named ${NODES[0].name} is already in the cluster and Ready`));
  });

  test('a Deployment spreads over the three nodes; pods answer, also pod to pod across nodes', async () => {
    await client.create(DEPLOYMENTS, 'default', {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'lab-hello' },
      spec: {
        replicas: REPLICAS, selector: { matchLabels: { app: 'lab-hello' } },
        template: {
          metadata: { labels: { app: 'lab-hello' } },
          spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'hello', image: 'kubemu/hello:1', ports: [{ containerPort: 8080 }],
            env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
            readinessProbe: { httpGet: { path: '/cgi-bin/healthz', port: 8080 }, periodSeconds: 1 } }] },
        },
      },
    });
    const pods = await until(`${REPLICAS} Ready lab-hello pods`, async () => {
      const ps = (await deploymentPods()).filter((p) => !p.metadata.deletionTimestamp);
      return ps.length === REPLICAS && ps.every(podReady) && ps;
    }, 240_000, { everyMs: 500 });
    const perNode = new Map(NODES.map((n) => [n.name, pods.filter((p) => p.spec.nodeName === n.name).length]));
    for (const n of NODES) assert.ok(perNode.get(n.name)! >= 1, `every node runs some: ${JSON.stringify([...perNode])}`);
    // The apiserver reaches each kubelet over its link (pod logs are proxied to <node IP>:10250).
    for (const n of NODES) {
      const p = pods.find((x) => x.spec.nodeName === n.name)!;
      const res = await tlsFetch(`${server}/api/v1/namespaces/default/pods/${p.metadata.name}/log`, { headers: { Authorization: `Bearer ${joinToken}` }, signal: AbortSignal.timeout(10_000) }, { ca: adminTls(upDir)!.ca });
      assert.equal(res.status, 200, `logs of ${p.metadata.name} on ${n.name}: ${await res.text()}`);
    }
    // Pod to pod: a pod on node 1 fetches from a pod on node 3 over the shared pod network.
    const from = pods.find((p) => p.spec.nodeName === NODES[0].name)!;
    const to = pods.find((p) => p.spec.nodeName === NODES[2].name)!;
    const cid = sh('docker', 'ps', '-q', '--filter', `label=io.kubernetes.pod.uid=${from.metadata.uid}`, '--filter', 'label=io.kubernetes.container.name=hello').trim();
    // (busybox nc: this busybox's wget crashes here.)
    const answer = sh('docker', 'exec', cid, 'sh', '-c', `printf 'GET /cgi-bin/hello HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${to.status.podIP} 8080`);
    assert.equal(answer.trim().split('\n').pop()!.trim(), to.metadata.name, answer);
    const containers = await containersByNode();
    for (const n of NODES) assert.equal(containers.get(n.name)?.length ?? 0, perNode.get(n.name), `containers of ${n.name}`);
  });

  test('cutting a node\'s link makes it NotReady and its pods are replaced on the others; restoring it brings it back without duplicates', async () => {
    const cut = NODES[1];
    const before = (await deploymentPods()).filter((p) => p.spec.nodeName === cut.name).map((p) => p.metadata.uid);
    assert.ok(before.length >= 1);
    sh('ip', 'link', 'set', cut.hostIf, 'down');
    let restored = false;
    try {
      await until(`${cut.name} NotReady`, async () => !ready(await client.get(NODES_RES, undefined, cut.name)), 180_000, { everyMs: 500 });
      const moved = await until(`${REPLICAS} Ready pods off ${cut.name}`, async () => {
        const live = (await deploymentPods()).filter((p) => !p.metadata.deletionTimestamp);
        return live.length === REPLICAS && live.every((p) => podReady(p) && p.spec.nodeName !== cut.name) && live;
      }, 240_000, { everyMs: 500 });
      for (const n of [NODES[0], NODES[2]]) assert.ok(moved.some((p) => p.spec.nodeName === n.name));
      // Cut off, the node's kubelet has not heard of the evictions: its old pods still run in Docker.
      assert.equal((await containersByNode()).get(cut.name)?.length ?? 0, before.length, 'the partitioned node keeps running its pods');

      sh('ip', 'link', 'set', cut.hostIf, 'up');
      restored = true;
      await until(`${cut.name} Ready again`, async () => ready(await client.get(NODES_RES, undefined, cut.name)), 180_000, { everyMs: 500 });
      // Back in touch, the kubelet finishes the evicted pods' deletion: exactly REPLICAS pods and containers remain.
      const settled = await until('the evicted pods gone and no duplicates', async () => {
        const all = await deploymentPods();
        const containers = await containersByNode();
        const total = [...containers.values()].reduce((a, b) => a + b.length, 0);
        return all.length === REPLICAS && all.every((p) => !p.metadata.deletionTimestamp && podReady(p)) && total === REPLICAS && { all, containers };
      }, 240_000, { everyMs: 500 });
      const uids = settled.all.map((p) => p.metadata.uid);
      assert.equal(new Set(uids).size, REPLICAS);
      for (const uid of before) assert.ok(!uids.includes(uid), 'the evicted pods do not come back');
      const containerUids = [...settled.containers.values()].flat();
      assert.deepEqual([...containerUids].sort(), [...uids].sort(), 'one running container per pod, each of a live pod');
      assert.ok(!settled.containers.has(cut.name), `no pod of the old generation left on ${cut.name}`);
    } finally {
      if (!restored) tryRun('ip', 'link', 'set', cut.hostIf, 'up');
    }
  });
});
