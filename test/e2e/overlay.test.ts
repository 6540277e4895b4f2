// A swarm overlay as the pod network, end to end: a single-node swarm on this engine (initialised here, on
// 127.0.0.1, when the engine is not in one), an attachable overlay, `kubemu up --network <overlay>` with one
// node and `kubemu join --network <overlay>` for a second one. Each host (here: the one machine) reaches the
// overlay through one shared gateway container (launcher/overlay-gateway.ts), so what starts from the host works:
// httpGet readiness probes, Services through kube-proxy (ClusterIP and NodePort), the cluster DNS; and pods
// reach each other by pod IP. The last node to leave takes the gateway away.
//
// Addresses: the overlay's subnet 10.215.<pid % 256>.0/24, checked to be routed nowhere first and given an
// `unreachable` route before the overlay exists; a swarm initialised here takes its own networks (ingress)
// from 10.216.0.0/16, likewise guarded. Everything sent goes to addresses of this machine.
import { adminTls, caCertHash } from '../../launcher/pki.ts';
import { ensureJoinTokens } from '../../launcher/join.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { nodeIdentity } from '../../launcher/components.ts';
import { gatewayName, GUARD_METRIC, hostIfName } from '../../launcher/overlay-gateway.ts';
import { overlappingRoutes } from '../../kube-proxy/host-net.ts';
import { inCidr } from '../../lib/ipv4.ts';
import { assertRotation, getOnce, hits, kubemu, startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';
import { deployWebApp, podHits, readyBackends, WEB_APP, type WebService } from '../harness/web-app.ts';

const ID = process.pid % 10000;
const NAME = `ov${ID}`;
const OVERLAY = `kubemu-ov${ID}`;
const SUBNET = `10.215.${ID % 256}.0/24`;
const SWARM_POOL = '10.216.0.0/16';
const NODE2 = nodeIdentity(NAME, 2);
type Obj = Record<string, any>;

/** A command that must succeed. */
const sh = (cmd: string, ...args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
  return r.stdout;
};
/** Best effort, for cleanup. */
const tryRun = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
const routesOf = (cidr: string) => tryRun('ip', '-4', 'route', 'show', 'table', 'main', 'exact', cidr).stdout.split('\n').filter(Boolean);
const gatewayContainers = () => tryRun('docker', 'ps', '-aq', '--filter', `name=^/${gatewayName(OVERLAY)}$`).stdout.split('\n').filter(Boolean);
const linkExists = (iface: string) => tryRun('ip', 'link', 'show', 'dev', iface).status === 0;

describe('a swarm overlay as the pod network: probes, Services, DNS and pod to pod, through the overlay gateway', () => {
  let c: KubemuCluster | undefined;
  let web: WebService;
  let joinDir = '';
  let swarmInitialised = false;
  let gwbridgeExisted = true;
  const routesAdded: string[][] = [];

  before(async () => {
    // Root: veth pairs, routes, nsenter.
    assert.equal(process.getuid?.(), 0, 'the overlay test needs root (a veth pair, routes, nsenter into the gateway)');
    const clash = await overlappingRoutes(SUBNET, { all: true });
    assert.deepEqual(clash, [], `${SUBNET} must be routed nowhere on this machine before the test creates its overlay there`);
    sh('ip', 'route', 'add', 'unreachable', SUBNET);
    routesAdded.push(['unreachable', SUBNET]);

    const state = sh('docker', 'info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}').trim();
    gwbridgeExisted = tryRun('docker', 'network', 'inspect', 'docker_gwbridge').status === 0;
    if (state.startsWith('inactive')) {
      const pool = await overlappingRoutes(SWARM_POOL, { all: true });
      assert.deepEqual(pool, [], `${SWARM_POOL} (the swarm's address pool) must be routed nowhere on this machine`);
      sh('ip', 'route', 'add', 'unreachable', SWARM_POOL);
      routesAdded.push(['unreachable', SWARM_POOL]);
      // A single-node swarm that speaks only to itself: advertised and listening on loopback.
      const init = tryRun('docker', 'swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:2377',
        '--default-addr-pool', SWARM_POOL, '--default-addr-pool-mask-length', '24');
      assert.equal(init.status, 0, `this Docker engine cannot run a swarm, which an overlay network needs: docker swarm init said: ${(init.stderr || init.stdout).trim()}`);
      swarmInitialised = true;
    } else {
      assert.equal(state, 'active true', `the engine is in a swarm but not as a manager (${state}): an overlay network can only be created on a manager`);
    }
    sh('docker', 'network', 'create', '-d', 'overlay', '--attachable', '--subnet', SUBNET, '--label', 'io.kubemu.test=overlay', OVERLAY);

    c = await startCluster(NAME, ['--nodes', '1', '--network', OVERLAY, '--token-auth']);
    joinDir = path.join(c.dir, 'node-2');
    // The second node joins as other hosts would: the join token, and the CA pinned by its hash.
    const joinToken = ensureJoinTokens(c.dir).join;
    const join = kubemu(['join', '--apiserver', c.state().apiserver, '--token', joinToken, '--discovery-token-ca-cert-hash', caCertHash(adminTls(c.dir)!.ca!),
      '--name', NODE2.nodeName, '--node-ip', NODE2.nodeIP,
      '--network', OVERLAY, '--dir', joinDir]);
    assert.equal(join.status, 0, `kubemu join failed:\n${join.stdout}\n${join.stderr}`);
    // The second node on this host shares the gateway `up` made.
    assert.match(join.stdout, new RegExp(`through ${gatewayName(OVERLAY)}: ${hostIfName(OVERLAY)} \\S+ → \\S+ \\(already there\\)`), join.stdout);

    const file = path.join(c.dir, 'web.yaml');
    fs.writeFileSync(file, WEB_APP);
    // rollout status → every replica Ready: the kubelets' httpGet readiness probes reached the pods on the overlay.
    web = await deployWebApp(c, file);
  });

  after(async () => {
    const problems: string[] = [];
    if (joinDir && fs.existsSync(path.join(joinDir, 'state.json'))) {
      const r = kubemu(['down', '--dir', joinDir]);
      if (r.status !== 0) problems.push(`down node 2: ${r.stderr}`);
    }
    if (process.exitCode && joinDir && fs.existsSync(path.join(joinDir, 'logs'))) {
      fs.cpSync(path.join(joinDir, 'logs'), `/tmp/kubemu-e2e-logs-${NAME}/node-2`, { recursive: true, force: true });
    }
    try { c?.down(); } catch (err) { problems.push(String(err)); }
    // What kubemu should have removed, removed again in case a test failed halfway.
    for (const id of gatewayContainers()) tryRun('docker', 'rm', '-f', id);
    tryRun('ip', 'link', 'del', hostIfName(OVERLAY));
    if (tryRun('docker', 'network', 'inspect', OVERLAY).status === 0 && tryRun('docker', 'network', 'rm', OVERLAY).status !== 0) problems.push(`could not remove ${OVERLAY}`);
    if (swarmInitialised) {
      const leave = tryRun('docker', 'swarm', 'leave', '--force');
      if (leave.status !== 0) problems.push(`docker swarm leave: ${leave.stderr}`);
      // Docker makes docker_gwbridge for the first overlay container and keeps it: it goes with the swarm we made.
      if (!gwbridgeExisted) await until('docker_gwbridge removed', async () => tryRun('docker', 'network', 'rm', 'docker_gwbridge').status === 0
        || tryRun('docker', 'network', 'inspect', 'docker_gwbridge').status !== 0, 30_000).catch((err) => problems.push(String(err)));
    }
    // The overlay is gone: its subnet's routes (kubemu's guard, the test's own) go last.
    for (const cidr of [SUBNET, SWARM_POOL]) for (const r of routesOf(cidr)) tryRun('ip', 'route', 'del', ...r.trim().split(/\s+/));
    const left = [...routesOf(SUBNET), ...routesOf(SWARM_POOL), ...gatewayContainers(), ...(linkExists(hostIfName(OVERLAY)) ? [hostIfName(OVERLAY)] : []),
      ...tryRun('docker', 'ps', '-aq', '--filter', `label=io.kubemu.node=${NODE2.nodeName}`).stdout.split('\n').filter(Boolean)];
    if (swarmInitialised && sh('docker', 'info', '--format', '{{.Swarm.LocalNodeState}}').trim() !== 'inactive') left.push('swarm mode still on');
    assert.deepEqual([...problems, ...left], [], 'the overlay test cleaned up after itself');
  });

  test('one gateway serves both nodes: the overlay subnet is routed through it, with the unreachable guard behind', async () => {
    const nodes: Obj = JSON.parse(await c!.kubectl('get', 'nodes', '-o', 'json'));
    assert.deepEqual(nodes.items.map((n: Obj) => n.metadata.name).sort(), [nodeIdentity(NAME, 1).nodeName, NODE2.nodeName].sort());
    assert.equal(gatewayContainers().length, 1, 'one gateway container');
    const routes = routesOf(SUBNET);
    assert.ok(routes.some((r) => new RegExp(`^${SUBNET.replace(/\./g, '\\.')} via 169\\.254\\.\\S+ dev ${hostIfName(OVERLAY)}`).test(r)), routes.join('; '));
    assert.ok(routes.some((r) => r.startsWith(`unreachable ${SUBNET}`) && r.includes(`metric ${GUARD_METRIC}`)), routes.join('; '));
    // The host reaches a pod at its overlay IP (as the kubelet's probes do) through that route, and only through it:
    // without it the guard answers at once (no route to host) and nothing leaves the machine.
    const pod: Obj = JSON.parse(await c!.kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).items[0];
    const url = `http://${pod.status.podIP}:8080/`;
    assert.equal(await getOnce(url), pod.metadata.name);
    const via = routes.find((r) => !r.startsWith('unreachable'))!.trim().split(/\s+/);
    sh('ip', 'route', 'del', ...via);
    try {
      await assert.rejects(getOnce(url, 3000), { code: 'EHOSTUNREACH' });
    } finally {
      sh('ip', 'route', 'replace', ...via);
    }
    assert.equal(await getOnce(url), pod.metadata.name);
  });

  test('Ready by httpGet probes, pods on the overlay on both nodes, and pod to pod by pod IP across nodes', async () => {
    const pods: Obj[] = JSON.parse(await c!.kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).items;
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.ok(inCidr(p.status.podIP, SUBNET), `${p.metadata.name}'s IP ${p.status.podIP} is on the overlay`);
      assert.ok(p.status.conditions.some((x: Obj) => x.type === 'Ready' && x.status === 'True'), `${p.metadata.name} Ready`);
    }
    assert.equal(new Set(pods.map((p) => p.spec.nodeName)).size, 2, `the web pods run on both nodes: ${pods.map((p) => p.spec.nodeName).join(' ')}`);
    // From the client pod to each web pod by its pod IP, the ones on the other node included.
    const client: Obj = JSON.parse(await c!.kubectl('get', 'pod', 'client', '-o', 'json'));
    assert.ok(pods.some((p) => p.spec.nodeName !== client.spec.nodeName), 'some web pod runs on the other node than the client');
    for (const p of pods) {
      const [answer] = await podHits(c!, `http://${p.status.podIP}:8080/`, 1);
      assert.equal(answer, p.metadata.name, `client (${client.spec.nodeName}) → ${p.metadata.name} (${p.spec.nodeName}) at ${p.status.podIP}`);
    }
  });

  test('from the host: the ClusterIP and each node\'s NodePort rotate over the three pods', async () => {
    const pods = await readyBackends(c!);
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), pods, 'host → ClusterIP');
    for (const n of [nodeIdentity(NAME, 1), NODE2]) assertRotation(await hits(`http://${n.nodeIP}:${web.nodePort}/`, 15), pods, `NodePort on ${n.nodeIP}`);
  });

  test('from a pod: the Service by DNS name (the cluster DNS through kube-proxy), in rotation', async () => {
    const pods = await readyBackends(c!);
    assertRotation(await podHits(c!, 'http://web.default.svc.cluster.local:80/', 15), pods, 'pod → web.default.svc.cluster.local');
    assertRotation(await podHits(c!, 'http://web/', 15), pods, 'pod → web (search path)');
  });

  test('the last node to leave takes the gateway away; the guard route stays while the overlay does', async () => {
    const leave = kubemu(['down', '--dir', joinDir]);
    assert.equal(leave.status, 0, leave.stderr);
    assert.match(leave.stdout, /kept the gateway into overlay .*: another kubelet on this host still uses it/, leave.stdout);
    assert.equal(gatewayContainers().length, 1, 'the gateway stays while node 1 uses the overlay');
    const d = kubemu(['down', '--dir', c!.dir]);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stdout, new RegExp(`removed the gateway into overlay ${OVERLAY}`), d.stdout);
    assert.deepEqual(gatewayContainers(), [], 'gateway container removed');
    assert.ok(!linkExists(hostIfName(OVERLAY)), 'veth removed');
    const routes = routesOf(SUBNET);
    assert.ok(routes.length > 0 && routes.every((r) => r.startsWith('unreachable')), `only unreachable routes left for ${SUBNET}: ${routes.join('; ')}`);
  });
});
