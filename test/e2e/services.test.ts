// Services end to end, kube-proxy in userspace mode: one `kubemu up` cluster (3 Docker nodes), the
// real kubectl, traffic from the host and from inside a pod. Every new connection goes to the next
// ready pod in turn, by ClusterIP (found by DNS name from pods), NodePort and LoadBalancer address;
// readiness, deletes and scaling decide who is in the rotation; a killed kube-proxy's ClusterIPs
// are taken over by another.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeIdentity, clusterAddresses } from '../../launcher/components.ts';
import { runningSupervisor } from '../../launcher/supervisor-client.ts';
import { assertRotation, getOnce, hits, kubemu, startCluster, until, ROOT, type KubemuCluster } from '../harness/kubemu-cluster.ts';
import { runBookManifests } from '../harness/book.ts';
import { deployWebApp, podHits, readyBackends, refusedAtOnce, scaleWeb, WEB_APP, type WebService } from '../harness/web-app.ts';

const NAME = `svc${process.pid % 10000}`;

describe('Services through kube-proxy (userspace mode), real kubectl, real Docker', () => {
  let c: KubemuCluster;
  let web: WebService;

  before(async () => {
    c = await startCluster(NAME, ['--nodes', '3', '--proxy-mode', 'userspace']);
    const file = path.join(c.dir, 'web.yaml');
    fs.writeFileSync(file, WEB_APP);
    web = await deployWebApp(c, file);
  });
  after(() => {
    c?.down();
  });

  test('the cluster DNS: kube-dns at its fixed ClusterIP answers A (ClusterIP), SRV and NXDOMAIN, over UDP through kube-proxy', async () => {
    const { dnsIP } = clusterAddresses(NAME);
    assert.equal(JSON.parse(await c.kubectl('get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'json')).spec.clusterIP, dnsIP);
    const r = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
    r.setServers([`${dnsIP}:53`]);
    assert.deepEqual(await r.resolve4('web.default.svc.cluster.local'), [web.clusterIP]);
    const srv = await r.resolveSrv('_http._tcp.web.default.svc.cluster.local');
    assert.deepEqual(srv.map((s) => [s.port, s.name]), [[80, 'web.default.svc.cluster.local']]);
    await assert.rejects(r.resolve4('nope.default.svc.cluster.local'), { code: 'ENOTFOUND' });
  });

  test('30 requests from a pod by DNS name, and 30 from the host by ClusterIP: each pod exactly 10 times, in rotation', async () => {
    const pods = await readyBackends(c);
    assertRotation(await podHits(c, 'http://web.default.svc.cluster.local:80/', 30), pods, 'pod → web.default.svc.cluster.local');
    assertRotation(await podHits(c, 'http://web:80/', 30), pods, 'pod → web (search path)');
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), pods, 'host → ClusterIP');
  });

  test('the same through the NodePort of every node and through the LoadBalancer address', async () => {
    const pods = await readyBackends(c);
    for (let n = 1; n <= 3; n++) {
      const { nodeIP } = nodeIdentity(NAME, n);
      assertRotation(await hits(`http://${nodeIP}:${web.nodePort}/`, 30), pods, `NodePort on ${nodeIP}`);
    }
    const line = await c.kubectl('get', 'svc', 'web', '--no-headers');
    assert.match(line, new RegExp(`LoadBalancer\\s+${web.clusterIP.replace(/\./g, '\\.')}\\s+${web.lbIP.replace(/\./g, '\\.')}\\s+80:${web.nodePort}/TCP`), line);
    assertRotation(await hits(`http://${web.lbIP}:80/`, 30), pods, 'LoadBalancer address');
  });

  test('a pod whose readiness probe fails gets no traffic, and is back once it passes', async () => {
    const pods = await readyBackends(c);
    const sick = pods[1];
    await c.kubectl('exec', sick, '--', 'touch', '/tmp/fail');
    await until('the failing pod out of the endpoints', async () => !(await readyBackends(c)).includes(sick), 30_000);
    const rest = pods.filter((p) => p !== sick);
    await until('kube-proxy following the endpoints', async () => !(await hits(`http://${web.clusterIP}:80/`, 3)).includes(sick), 10_000);
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), rest, 'without the unready pod');
    await c.kubectl('exec', sick, '--', 'rm', '/tmp/fail');
    await until('the pod ready again', async () => (await readyBackends(c)).length === 3, 30_000);
    await until('kube-proxy following the endpoints', async () => (await hits(`http://${web.clusterIP}:80/`, 3)).includes(sick), 10_000);
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), pods, 'all three again');
  });

  test('a deleted pod leaves the rotation before its replacement joins', async () => {
    const before = await readyBackends(c);
    const victim = before[0];
    const seen: string[][] = [];
    const watching = (async () => {
      // Endpoints as kube-proxy sees them, every version, until the replacement is in.
      for (;;) {
        const now = await readyBackends(c).catch(() => undefined);
        if (now && JSON.stringify(now) !== JSON.stringify(seen.at(-1))) seen.push(now);
        if (now && now.length === 3 && !now.includes(victim)) return now;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await c.kubectl('delete', 'pod', victim, '--wait=false');
    const after = await until('the replacement ready', () => Promise.race([watching, new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000))]), 61_000);
    const replacement = after.find((p) => !before.includes(p))!;
    const firstWithout = seen.findIndex((s) => !s.includes(victim));
    const firstWith = seen.findIndex((s) => s.includes(replacement));
    assert.ok(firstWithout >= 0 && firstWithout < firstWith, `the victim left before the replacement joined: ${JSON.stringify(seen)}`);
    await until('kube-proxy following the endpoints', async () => (await hits(`http://${web.clusterIP}:80/`, 3)).includes(replacement), 10_000);
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), after, 'after the replacement');
  });

  test('scaled to 0 a Service refuses connections at once; scaled back, traffic flows again', async () => {
    const url = `http://${web.clusterIP}:80/`;
    await scaleWeb(c, 0, url);
    await refusedAtOnce(url);
    await refusedAtOnce(`http://${nodeIdentity(NAME, 2).nodeIP}:${web.nodePort}/`);
    assert.deepEqual(await podHits(c, 'http://web.default.svc.cluster.local:80/', 1), ['FAILED']);
    const pods = await scaleWeb(c, 3, url);
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), pods, 'scaled back');
  });

  test('kill -9 the kube-proxy serving ClusterIPs: another serves them within seconds; restarted, it stands by with no duplicate listener', async () => {
    const leaseName = `kube-proxy-cluster-ips.${os.hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-')}`;
    const holder = async () => JSON.parse(await c.kubectl('get', 'lease', '-n', 'kube-system', leaseName, '-o', 'json')).spec.holderIdentity as string;
    const leader = await holder();
    const pid = Number(leader.split('_').pop());
    assert.ok(c.state().components.some((x) => x.name.startsWith('kube-proxy-') && x.pid === pid), `the leader ${leader} is one of ours`);
    const { name, argv, log } = c.state().components.find((x) => x.pid === pid)!;
    // Held first: the supervisor would start it again within a second, and it might take the lease back before another does.
    await runningSupervisor(c.dir)!.hold(name);
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    const pods = await readyBackends(c);
    await until('the ClusterIP served again', async () => (await getOnce(`http://${web.clusterIP}:80/`, 3000).catch(() => '')) !== '', 60_000, { everyMs: 100 });
    const takeoverMs = Date.now() - t0;
    console.log(`# ClusterIP served again ${takeoverMs} ms after kill -9 of the serving kube-proxy`);
    assert.notEqual(await holder(), leader, 'another kube-proxy holds the lease');
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), pods, 'after the takeover');

    // Started again with the same command line (by its supervisor): it must stand by, not fight for the address.
    const logFrom = fs.statSync(log).size;
    const restart = kubemu(['restart', name, '--dir', c.dir]);
    assert.equal(restart.status, 0, restart.stderr);
    const metricsPort = argv![argv!.indexOf('--metrics-port') + 1];
    const metrics = await until('the restarted kube-proxy answering', async () => {
      const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return r.ok && r.text();
    }, 30_000);
    assert.match(metrics, /kubeproxy_cluster_ip_leader 0/);
    const nodePortOf = argv![argv!.indexOf('--node-ip') + 1];
    // Answering /metrics comes before its first sync: wait until it serves its node's NodePort.
    await until('the restarted kube-proxy serving its NodePort', async () => (await getOnce(`http://${nodePortOf}:${web.nodePort}/`, 3000).catch(() => '')) !== '', 30_000);
    assertRotation(await hits(`http://${nodePortOf}:${web.nodePort}/`, 30), pods, 'the restarted kube-proxy serves its NodePort');
    const listeners = execFileSync('ss', ['-Hltn', `src ${web.clusterIP}:80`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    assert.equal(listeners.length, 1, `one listener on ${web.clusterIP}:80: ${listeners.join(' | ')}`);
    const errors = fs.readFileSync(log, 'utf8').slice(logFrom).split('\n').filter((l) => /"level":(50|60)/.test(l));
    assert.deepEqual(errors, [], 'no error in the restarted kube-proxy log');
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), pods, 'with the restarted kube-proxy standing by');
  });

  test('examples/multi-tier.yaml: the frontend calls the backend by DNS name, reached through its LoadBalancer address', async () => {
    await c.kubectl('apply', '-f', path.join(ROOT, 'examples/multi-tier.yaml'));
    await c.kubectl('rollout', 'status', 'deployment/backend', '-n', 'shop', '--timeout=120s');
    await c.kubectl('rollout', 'status', 'deployment/frontend', '-n', 'shop', '--timeout=120s');
    const lb = await until('the frontend LoadBalancer address', async () =>
      JSON.parse(await c.kubectl('get', 'svc', 'frontend', '-n', 'shop', '-o', 'json')).status?.loadBalancer?.ingress?.[0]?.ip as string | undefined);
    await until('3 ready backends', async () => (JSON.parse(await c.kubectl('get', 'endpoints', 'backend', '-n', 'shop', '-o', 'json')).subsets?.[0]?.addresses ?? []).length === 3, 60_000);
    await until('the frontend answering', async () => /^frontend \S+ -> backend backend-/.test(await getOnce(`http://${lb}:80/`)), 30_000);
    const answers = await hits(`http://${lb}:80/`, 6);
    for (const a of answers) assert.match(a, /^frontend frontend-\S+ -> backend backend-\S+$/);
    assert.equal(new Set(answers.map((a) => a.split(' ')[1])).size, 2, `both frontends answered: ${answers.join(' | ')}`);
    assert.equal(new Set(answers.map((a) => a.split(' ').pop())).size, 3, `every backend was called: ${answers.join(' | ')}`);
    await c.kubectl('delete', 'namespace', 'shop', '--wait=false');
  });

  test('the book\'s manifests (examples/book: chapters 3, 4, 6, 7, 8, 9) run on Docker nodes', async () => {
    await runBookManifests((...a) => c.kubectl(...a), { docker: true });
  });
});
