// `docker compose up` end to end: the images built offline by the scripts, docker-compose.yml brought up
// under a project name of its own (3 etcd members, 2 apiservers, 2 schedulers and 2 controller managers
// with leader election, 3 kubelets starting sibling pod containers, 3 kube-proxies, the cluster DNS), then
// the real kubectl through the kubeconfig the compose file writes: the Services scenario of services.test.ts,
// pods coming back after `docker-compose restart`, a rolling update after one etcd member, an apiserver, the
// leading scheduler and the leading controller manager are killed, and `down -v` leaving nothing behind.
// Everything is TLS as under `kubemu up`: the apiservers refuse requests without credentials, etcd any
// connection without a certificate of its own CA, and the kubeconfig verifies the apiserver.
// Runs with docker-compose v1.29 or `docker compose` v2, whichever is installed; fails (never skips) without.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { removeNodeContainers } from '../../launcher/docker-cleanup.ts';
import { cleanupServiceNetwork } from '../../launcher/service-network.ts';
import { listServiceAddresses } from '../../kube-proxy/host-net.ts';
import { inCidr } from '../../lib/ipv4.ts';
import { createCA, inspectCertificate } from '../../lib/pki.ts';
import { tlsFetch } from '../../lib/tls-fetch.ts';
import { COMPOSE_ADDRS, COMPOSE_NODES, composeCluster, composeCommand, composeProject, NO_COMPOSE, type ComposeProject } from '../harness/compose.ts';
import { assertRotation, hits, kubemu, until, ROOT, type KubemuCluster } from '../harness/kubemu-cluster.ts';
import { podSnapshot, untilPodsRestarted } from '../harness/pods-restarted.ts';
import { deployWebApp, podHits, readyBackends, WEB_APP, type WebService } from '../harness/web-app.ts';

const NODES = COMPOSE_NODES;
const ADDRS = COMPOSE_ADDRS;
const PROJECT = `kubemu-e2e-compose-${process.pid}`;
type Obj = Record<string, any>;

const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });
const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean);

/** Whether something listens on host:port already (another compose cluster, or anything else). */
const listening = (host: string, port: number) => new Promise<boolean>((resolve) => {
  const s = net.connect({ host, port, timeout: 1000 }, () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false)).once('timeout', () => { s.destroy(); resolve(false); });
});

describe('docker compose up: the cluster as containers (real Docker, real kubectl)', { timeout: 1_800_000 }, () => {
  assert.ok(composeCommand(), NO_COMPOSE);
  let p: ComposeProject;
  let up = false;
  let web: WebService;
  let apiPort = ''; // the apiserver kubectl talks to: apiserver-1's, then apiserver-2's once the first is killed
  const dc = (args: string[], timeout?: number) => p.dc(args, timeout);
  const containerOf = (service: string) => lines(dc(['ps', '-q', service]).stdout)[0];
  let c: KubemuCluster;

  before(async () => {
    for (const script of ['build-images.sh', 'build-compose-images.sh']) {
      const r = spawnSync('bash', [path.join(ROOT, 'scripts', script)], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
      assert.equal(r.status, 0, `scripts/${script} failed:\n${r.stdout}\n${r.stderr}`);
    }
    // The compose cluster's fixed addresses must be free: one compose cluster per host.
    const fixed: Array<[string, number]> = [[NODES[0].nodeIP, 10250], ['127.0.0.1', 12379], ['127.0.0.1', 12380], ['127.0.0.1', 12381], ['127.0.0.1', 10261], ['127.0.0.1', 10266]];
    for (const [h, p] of fixed) {
      assert.equal(await listening(h, p), false, `${h}:${p} is in use: is a compose cluster already running here? (docker compose ps; docker compose down)`);
    }
    p = await composeProject(PROJECT);
    apiPort = p.env.KUBEMU_API_PORT!;
    c = composeCluster(p, () => apiPort);
    const r = dc(['up', '-d'], 900_000);
    up = true;
    assert.equal(r.status, 0, `docker-compose up -d failed (${r.status}):\n${r.out}\n${dc(['logs', '--tail', '30']).out}`);
    assert.ok(fs.existsSync(p.kubeconfig), `up -d returned without ${p.kubeconfig}`);
    const file = path.join(p.dir, 'web.yaml');
    fs.writeFileSync(file, WEB_APP);
    web = await deployWebApp(c, file);
  }, { timeout: 1_500_000 });

  after(async () => {
    if (!p) return;
    if (up && (process.exitCode || process.env.KUBEMU_KEEP_LOGS)) fs.writeFileSync(`/tmp/kubemu-e2e-logs-${PROJECT}.log`, dc(['logs', '--no-color']).out);
    if (docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`).stdout.trim()) {
      dc(['down', '-v', '--remove-orphans', '-t', '2']);
    }
    // Whatever a failed test left (pods, the pod network, ClusterIPs), and the unreachable route.
    await removeNodeContainers(NODES.map((n) => n.nodeName), NODES[0].network).catch(() => {});
    await cleanupServiceNetwork(ADDRS.serviceCIDR, NODES.map((n) => n.nodeName)).catch(() => {});
    fs.rmSync(p.dir, { recursive: true, force: true });
  });

  test('docker-compose.yml names the addresses launcher/components.ts gives the cluster "compose"', () => {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
    const text = JSON.stringify(doc.services);
    for (const { nodeName, nodeIP, network } of NODES) {
      assert.ok(text.includes(`"--node-name","${nodeName}","--node-ip","${nodeIP}"`), `${nodeName} on ${nodeIP}`);
      assert.ok(text.includes(`"--network","${network}"`), network);
    }
    assert.ok(text.includes(`"--service-cluster-ip-range","${ADDRS.serviceCIDR}"`), ADDRS.serviceCIDR);
    assert.ok(text.includes(`"--cluster-dns","${ADDRS.dnsIP}"`) && text.includes(`"--dns-ip","${ADDRS.dnsIP}"`), ADDRS.dnsIP);
    assert.ok(text.includes(`"--load-balancer-pool","${ADDRS.loadBalancerPool}"`), ADDRS.loadBalancerPool);
    assert.ok(text.includes(`"--nodes","${NODES.map((n) => n.nodeName).join(',')}","--node-ips","${NODES.map((n) => n.nodeIP).join(',')}"`), 'init makes the nodes\' certificates');
    // Every component connects with the CA and a client certificate of its own identity; etcd takes only TLS.
    for (const [svc, cert] of [['scheduler-1', 'scheduler'], ['controller-manager-2', 'controller-manager'], ['dns', 'dns'], ['kube-proxy-3', 'kube-proxy'],
      ['kubelet-1', `kubelet-${NODES[0].nodeName}-client`], ['kubelet-3', `kubelet-${NODES[2].nodeName}-client`]]) {
      assert.ok(JSON.stringify(doc.services[svc].command).includes(`"--certificate-authority","/var/lib/kubemu/pki/ca.crt","--client-certificate","/var/lib/kubemu/pki/${cert}.crt","--client-key","/var/lib/kubemu/pki/${cert}.key"`), svc);
      assert.ok(doc.services[svc].volumes.includes('pki:/var/lib/kubemu/pki:ro'), `${svc} mounts the pki volume read-only`);
    }
    for (const svc of ['etcd-1', 'etcd-2', 'etcd-3']) {
      const cmd: string[] = doc.services[svc].command;
      assert.ok(cmd.includes('--client-cert-auth') && cmd.includes('--peer-client-cert-auth'), svc);
      assert.ok(!JSON.stringify(cmd).match(/"(--listen-client-urls|--listen-peer-urls|--initial-cluster)","[^"]*http:/), `${svc}: no plain client or peer URL`);
    }
    assert.doesNotMatch(text, /"http:\/\/127\.0\.0\.1:12[345]79/, 'nothing dials etcd over plain HTTP');
  });

  test('TLS: no credentials → 401 (but /version), the kubeconfig verifies the apiserver (mode 0600, no insecure-skip-tls-verify), another CA fails', async () => {
    const tls = p.tls();
    for (const port of [p.env.KUBEMU_API_PORT, p.env.KUBEMU_API_PORT_2]) {
      const anonymous = await tlsFetch(`https://127.0.0.1:${port}/api/v1/pods`, {}, { ca: tls.ca });
      assert.equal(anonymous.status, 401);
      assert.equal((await anonymous.json() as Obj).reason, 'Unauthorized');
      assert.equal((await tlsFetch(`https://127.0.0.1:${port}/version`, {}, { ca: tls.ca })).status, 200);
      assert.equal((await tlsFetch(`https://127.0.0.1:${port}/api/v1/pods`, {}, tls)).status, 200, 'the admin certificate');
    }
    const cfg = fs.readFileSync(p.kubeconfig, 'utf8');
    assert.equal(fs.statSync(p.kubeconfig).mode & 0o777, 0o600);
    assert.doesNotMatch(cfg, /insecure-skip-tls-verify/);
    assert.match(cfg, /certificate-authority-data: /);
    assert.equal(inspectCertificate(tls.cert!).commonName, 'kubernetes-admin');
    assert.deepEqual(inspectCertificate(tls.cert!).organizations, ['system:masters']);
    const who: Obj = JSON.parse(await c.kubectl('auth', 'whoami', '-o', 'json'));
    assert.equal(who.status.userInfo.username, 'kubernetes-admin');
    // kubectl verifying with a CA that did not sign the apiserver's certificate refuses to talk to it.
    const other = path.join(p.dir, 'other-ca.crt');
    fs.writeFileSync(other, (await createCA('another-ca')).cert);
    const wrong = spawnSync('kubectl', ['--kubeconfig', p.kubeconfig, '--certificate-authority', other, 'get', 'ns'], { encoding: 'utf8', env: { ...process.env, HOME: p.dir } });
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /x509: certificate signed by unknown authority/);
  });

  test('etcd takes only certificates of its own CA: etcdctl without one is refused, with the apiservers\' works; kubectl get cs shows every member healthy', async () => {
    const pki = p.pki();
    const etcdctl = (...args: string[]) => spawnSync('etcdctl', ['--endpoints', 'https://127.0.0.1:12379', '--dial-timeout', '3s', '--command-timeout', '5s', ...args, 'get', '/registry/namespaces/default', '--keys-only'],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 });
    const withCert = etcdctl('--cacert', `${pki}/etcd/ca.crt`, '--cert', `${pki}/apiserver-etcd-client.crt`, '--key', `${pki}/apiserver-etcd-client.key`);
    assert.equal(withCert.status, 0, withCert.stderr);
    assert.equal(withCert.stdout.trim(), '/registry/namespaces/default');
    const noCert = etcdctl('--cacert', `${pki}/etcd/ca.crt`);
    // etcd ends the handshake (bad certificate); etcdctl retries until its deadline and says only that.
    assert.notEqual(noCert.status, 0, 'etcd answered a client without a certificate');
    assert.match(noCert.stderr, /context deadline exceeded/);
    // A certificate of the cluster CA (the admin's) is no key to etcd: it has a CA of its own.
    const clusterCert = etcdctl('--cacert', `${pki}/etcd/ca.crt`, '--cert', `${pki}/admin.crt`, '--key', `${pki}/admin.key`);
    assert.notEqual(clusterCert.status, 0, 'etcd answered a certificate of the cluster CA');
    assert.match(clusterCert.stderr, /context deadline exceeded/);
    const plain = spawnSync('etcdctl', ['--endpoints', 'http://127.0.0.1:12379', '--dial-timeout', '3s', '--command-timeout', '5s', 'get', '/', '--keys-only'], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 });
    assert.notEqual(plain.status, 0, 'etcd answered plain HTTP');
    for (const [f, mode] of [['etcd/server.key', 0o600], ['apiserver-etcd-client.key', 0o600], ['etcd/ca.crt', 0o644]] as const) {
      assert.equal(fs.statSync(path.join(pki, f)).mode & 0o777, mode, f);
    }
    const cs: Obj = JSON.parse(await c.kubectl('get', 'componentstatuses', '-o', 'json'));
    const etcds = cs.items.filter((s: Obj) => s.metadata.name.startsWith('etcd-'));
    assert.equal(etcds.length, 3);
    for (const s of etcds) assert.equal(s.conditions[0].status, 'True', JSON.stringify(s));
  });

  test('every component is its own healthy container, and the 3 nodes are Ready', async () => {
    const ps = lines(docker('ps', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--format', '{{.Label "com.docker.compose.service"}} {{.Status}}').stdout);
    const services = ps.map((l) => l.split(' ')[0]).sort();
    assert.deepEqual(services, ['apiserver-1', 'apiserver-2', 'controller-manager-1', 'controller-manager-2', 'dns', 'etcd-1', 'etcd-2', 'etcd-3',
      'kube-proxy-1', 'kube-proxy-2', 'kube-proxy-3', 'kubelet-1', 'kubelet-2', 'kubelet-3', 'scheduler-1', 'scheduler-2'], ps.join('\n'));
    for (const l of ps) assert.match(l, /\(healthy\)/, l);
    const nodes: Obj = JSON.parse(await c.kubectl('get', 'nodes', '-o', 'json'));
    assert.deepEqual(nodes.items.map((n: Obj) => [n.metadata.name, n.status.addresses[0].address, n.status.conditions.find((x: Obj) => x.type === 'Ready').status]).sort(),
      NODES.map((n) => [n.nodeName, n.nodeIP, 'True']));
  });

  test('both apiservers share the keys init made: Secrets encrypted at rest (etcdctl shows ciphertext), ServiceAccount tokens valid on either', async () => {
    await c.kubectl('create', 'secret', 'generic', 'at-rest', '--from-literal=k=compose-plaintext');
    const pki = p.pki();
    const raw = spawnSync('etcdctl', ['--endpoints', 'https://127.0.0.1:12379', '--cacert', `${pki}/etcd/ca.crt`, '--cert', `${pki}/apiserver-etcd-client.crt`, '--key', `${pki}/apiserver-etcd-client.key`,
      'get', '/registry/secrets/default/at-rest', '--print-value-only'], { env: { ...process.env, ETCDCTL_API: '3' } });
    assert.equal(raw.status, 0, String(raw.stderr));
    assert.match(raw.stdout.toString('latin1'), /^k8s:enc:aescbc:v1:key1:/);
    assert.equal(raw.stdout.includes(Buffer.from('compose-plaintext')), false);
    // apiserver-2 reads what apiserver-1 wrote.
    const viaSecond = spawnSync('kubectl', ['--kubeconfig', p.kubeconfig, '--server', `https://127.0.0.1:${p.env.KUBEMU_API_PORT_2}`, 'get', 'secret', 'at-rest', '-o', 'jsonpath={.data.k}'], { encoding: 'utf8', env: { ...process.env, HOME: p.dir } });
    assert.equal(Buffer.from(viaSecond.stdout, 'base64').toString(), 'compose-plaintext', viaSecond.stderr);
    // One signing key too: a ServiceAccount token apiserver-1 issued is valid on apiserver-2 (a forged one would be 401).
    const token = (await c.kubectl('create', 'token', 'default')).trim();
    const ca = { ca: p.tls().ca };
    const res = await tlsFetch(`https://127.0.0.1:${p.env.KUBEMU_API_PORT_2}/api/v1/namespaces/default/pods`, { headers: { authorization: `Bearer ${token}` } }, ca);
    assert.equal(res.status, 200);
    const forged = `${token.split('.').slice(0, 2).join('.')}.${Buffer.from('not the signature').toString('base64url')}`;
    assert.equal((await tlsFetch(`https://127.0.0.1:${p.env.KUBEMU_API_PORT_2}/api/v1/namespaces/default/pods`, { headers: { authorization: `Bearer ${forged}` } }, ca)).status, 401);
  });

  test('Services: by DNS name from a pod, by ClusterIP from the host, by every NodePort and the LoadBalancer address, in rotation', async () => {
    const pods = await readyBackends(c);
    assert.equal(pods.length, 3);
    assertRotation(await podHits(c, 'http://web.default.svc.cluster.local:80/', 30), pods, 'pod → web.default.svc.cluster.local');
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), pods, 'host → ClusterIP');
    for (const { nodeIP } of NODES) assertRotation(await hits(`http://${nodeIP}:${web.nodePort}/`, 15), pods, `NodePort on ${nodeIP}`);
    assert.ok(inCidr(web.lbIP, '127.0.13.0/24'), web.lbIP);
    assertRotation(await hits(`http://${web.lbIP}:80/`, 15), pods, 'LoadBalancer address');
  });

  test('kubemu images load: an image built here runs on the nodes with imagePullPolicy Never and Always', async () => {
    const image = `kubemu-e2e/local-app:${process.pid}`;
    const build = spawnSync('docker', ['build', '-q', '-t', image, '-'], { input: 'FROM kubemu/busybox:1\nCMD ["sleep", "3600"]\n', encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    try {
      const load = kubemu(['images', 'load', image, '--dir', path.join(p.dir, '.kubemu', 'compose')]);
      assert.equal(load.status, 0, load.stderr);
      assert.match(load.stdout, /on every node of this host's Docker engine/);
      const missing = kubemu(['images', 'load', `${image}-missing`, '--dir', p.dir]);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /not in this machine's Docker engine\. Build it first/);
      for (const policy of ['Never', 'Always']) {
        await c.kubectl('run', `local-${policy.toLowerCase()}`, `--image=${image}`, `--image-pull-policy=${policy}`, '--restart=Never', '--overrides={"spec":{"terminationGracePeriodSeconds":0}}');
      }
      await c.kubectl('wait', '--for=condition=Ready', 'pod/local-never', 'pod/local-always', '--timeout=120s');
      await c.kubectl('delete', 'pod', 'local-never', 'local-always', '--wait=true', '--timeout=120s');
    } finally {
      docker('rmi', '-f', image);
    }
  });

  test('`docker-compose restart` keeps every object and brings the pods back, in new containers', async () => {
    const node1 = ['--filter', 'label=io.kubemu.managed=true', '--filter', `label=io.kubemu.node=${NODES[0].nodeName}`];
    const podContainers = () => lines(docker('ps', '-q', '--no-trunc', ...node1).stdout).sort();
    const objects = async () => lines(await c.kubectl('get', 'deployments,services,configmaps,serviceaccounts', '-A', '-o', 'name')).sort();
    await until('node 1 running pods', async () => podContainers().length > 0, 60_000, { everyMs: 1000 });
    const [containersBefore, podsBefore, objectsBefore] = [podContainers(), await podSnapshot(c), await objects()];
    const r = dc(['restart']);
    assert.equal(r.status, 0, r.out);
    await until('all nodes Ready again', async () => {
      const out = await c.kubectl('get', 'nodes', '--no-headers');
      return lines(out).length === 3 && lines(out).every((l) => / Ready /.test(l));
    }, 180_000, { everyMs: 1000 });
    // Node 1 stopped with its kubelet: its pods run again, in new containers.
    // A sandbox and the app containers for each of its pods (the previous test's deleted pods are gone by now).
    const onNode1 = async () => (JSON.parse(await c.kubectl('get', 'pods', '-A', '-o', 'json')).items as Obj[])
      .filter((p) => p.spec.nodeName === NODES[0].nodeName).reduce((n, p) => n + 1 + p.spec.containers.length, 0);
    await until('node 1 running its pods again, in new containers', async () => {
      const now = podContainers();
      return now.length === await onNode1() && now.every((id) => !containersBefore.includes(id));
    }, 120_000, { everyMs: 1000 });
    await untilPodsRestarted(c, podsBefore, 'after the restart', 120_000);
    await until('3 ready endpoints after the restart', async () => (await readyBackends(c)).length === 3, 120_000, { everyMs: 1000 });
    assert.deepEqual((await podSnapshot(c)).pods, podsBefore.pods, 'the same Pod objects (names and UIDs) after the restart');
    assert.deepEqual(await objects(), objectsBefore);
    const backends = await readyBackends(c);
    await until('kube-proxy following the endpoints', async () => new Set(await hits(`http://${web.clusterIP}:80/`, 3)).size === 3, 60_000, { everyMs: 1000 });
    assertRotation(await podHits(c, 'http://web.default.svc.cluster.local:80/', 9), backends, 'pod → Service by DNS name after the restart');
  });

  test('a rolling update completes after one etcd member, an apiserver, the leading scheduler and the leading controller manager are killed', async () => {
    const holderPid = async (lease: string) => Number(JSON.parse(await c.kubectl('get', 'lease', '-n', 'kube-system', lease, '-o', 'json')).spec.holderIdentity.split('_').at(-1));
    const leaderOf = async (lease: string, services: string[]) => {
      const pid = await holderPid(lease);
      const svc = services.find((s) => docker('inspect', '-f', '{{.State.Pid}}', containerOf(s)).stdout.trim() === String(pid));
      assert.ok(svc, `the ${lease} lease holder (pid ${pid}) is none of ${services.join(', ')}`);
      return svc;
    };
    const scheduler = await until('a scheduler leading', () => leaderOf('kube-scheduler', ['scheduler-1', 'scheduler-2']), 60_000, { everyMs: 1000 });
    const cm = await until('a controller manager leading', () => leaderOf('kube-controller-manager', ['controller-manager-1', 'controller-manager-2']), 60_000, { everyMs: 1000 });
    for (const svc of ['etcd-2', 'apiserver-1', scheduler, cm]) {
      const r = docker('kill', containerOf(svc));
      assert.equal(r.status, 0, `docker kill ${svc}: ${r.stderr}`);
    }
    // The components name both apiservers; kubectl now goes to the second one too.
    apiPort = p.env.KUBEMU_API_PORT_2!;
    await c.kubectl('set', 'image', 'deployment/web', 'hello=kubemu/hello:2');
    await c.kubectl('rollout', 'status', 'deployment/web', '--timeout=300s');
    const pods: Obj = JSON.parse(await c.kubectl('get', 'pods', '-l', 'app=web', '-o', 'json'));
    const running = pods.items.filter((p: Obj) => !p.metadata.deletionTimestamp);
    assert.equal(running.length, 3);
    for (const p of running) assert.equal(p.spec.containers[0].image, 'kubemu/hello:2', p.metadata.name);
    await until('3 ready endpoints after the update', async () => (await readyBackends(c)).length === 3, 120_000, { everyMs: 1000 });
    const backends = await readyBackends(c);
    await until('kube-proxy following the endpoints', async () => new Set(await hits(`http://${web.clusterIP}:80/`, 3)).size === 3 &&
      (await hits(`http://${web.clusterIP}:80/`, 3)).every((h) => backends.includes(h)), 60_000, { everyMs: 1000 });
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), backends, 'ClusterIP after the update');
  });

  test('down -v leaves no container, network, volume, pod or ClusterIP behind', async () => {
    c.down();
    up = false;
    assert.equal(docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`).stdout.trim(), '', 'project containers left');
    assert.equal(docker('network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`).stdout.trim(), '', 'project networks left');
    assert.equal(docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`).stdout.trim(), '', 'project volumes left');
    for (const { nodeName } of NODES) {
      assert.equal(docker('ps', '-aq', '--filter', `label=io.kubemu.node=${nodeName}`).stdout.trim(), '', `pod containers of ${nodeName} left`);
    }
    assert.equal(docker('network', 'ls', '-q', '--filter', `name=^${NODES[0].network}$`).stdout.trim(), '', `${NODES[0].network} left`);
    assert.deepEqual((await listServiceAddresses()).filter((ip) => inCidr(ip, ADDRS.serviceCIDR)), [], 'ClusterIPs left on kubemu0');
    // What may stay is the guard: an unreachable route for the service CIDR, never a route that leads anywhere.
    const routes = lines(spawnSync('ip', ['route', 'show', ADDRS.serviceCIDR], { encoding: 'utf8' }).stdout);
    assert.ok(routes.every((r) => r.startsWith('unreachable ')), routes.join('\n'));
  });
});
