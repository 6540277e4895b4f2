// Issue 13 item 4: a hollow-node cluster (the fake runtime) sends nothing off the machine. Every kubemu process
// of the cluster runs with a preload that records each address it dials; pods with httpGet/tcpSocket probes run,
// one fails readiness by annotation, and a port-forward is answered — then every recorded address must be
// loopback, a unix socket, or inside a range kubemu routes `unreachable` (fake pods, ClusterIPs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startCluster, until, getOnce, type KubemuCluster } from '../harness/kubemu-cluster.ts';
import { inCidr, isIPv4 } from '../../lib/ipv4.ts';
import { runBookManifests } from '../harness/book.ts';

const GUARDED = ['10.244.0.0/14', '10.96.0.0/12'];
const allowed = (host: string) => host === 'localhost' || host === '::1' || (isIPv4(host) && (inCidr(host, '127.0.0.0/8') || GUARDED.some((c) => inCidr(host, c))));

describe('hollow nodes keep their traffic on the machine', () => {
  let c: KubemuCluster;
  const audit = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-audit-')), 'connects.log');
  before(async () => {
    process.env.KUBEMU_CONNECT_AUDIT = audit;
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${path.join(ROOT, 'test/harness/connect-audit.mjs')}`.trim();
    c = await startCluster('fakenet', ['--runtime', 'fake', '--nodes', '2']);
  });
  after(() => c?.down());

  test('on hollow nodes a Job completes (its containers exit 0 after a few seconds) and an annotation sets the outcome', async () => {
    const job = (name: string, annotations: Record<string, string> = {}) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name },
      spec: { backoffLimit: 0, template: { metadata: { annotations }, spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox', command: ['sh', '-c', 'exit 0'] }] } } } });
    const file = path.join(c.dir, 'jobs.json');
    fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [job('done'), job('fails', { 'kubemu.io/fake-exit-after-ms': '500', 'kubemu.io/fake-exit-code': '3' })] }));
    await c.kubectl('apply', '-f', file);
    await until('Job done complete', async () => JSON.parse(await c.kubectl('get', 'job', 'done', '-o', 'json')).status?.succeeded === 1, 60_000);
    await until('Job fails failed', async () => JSON.parse(await c.kubectl('get', 'job', 'fails', '-o', 'json')).status?.failed === 1, 60_000);
  });

  test('a field the kubelet does not honour is a NotHonoured warning on the pod, not ignored', async () => {
    const file = path.join(c.dir, 'odd.json');
    fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'odd' },
      spec: { securityContext: { runAsUser: 1000 }, containers: [{ name: 'c', image: 'busybox', resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }] }] } }));
    await c.kubectl('apply', '-f', file);
    const events = await until('NotHonoured events', async () => {
      const list = JSON.parse(await c.kubectl('get', 'events', '--field-selector', 'involvedObject.name=odd,reason=NotHonoured', '-o', 'json')).items as any[];
      return list.length >= 2 ? list : undefined;
    }, 60_000);
    const messages = events.map((e) => e.message).sort();
    assert.match(messages.join('\n'), /kubemu does not honour spec.containers\[0\].resizePolicy: in-place resize is not supported \(see docs\/pod-spec.md\)/);
    assert.match(messages.join('\n'), /kubemu does not honour spec.securityContext.runAsUser: /);
    assert.ok(events.every((e) => e.type === 'Warning'));
  });

  test('the book\'s manifests (examples/book: chapters 3, 4, 6, 7, 8, 9) run on hollow nodes', async () => {
    await runBookManifests((...a) => c.kubectl(...a), { docker: false });
  });

  test('probes and port-forward are simulated; pod IPs are unique per node range; nothing is dialled off the machine', async () => {
    const probe = { periodSeconds: 1, failureThreshold: 1 };
    const manifest = {
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 6, selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80, name: 'http' }],
            readinessProbe: { httpGet: { path: '/', port: 'http' }, ...probe }, livenessProbe: { tcpSocket: { port: 80 }, ...probe },
            startupProbe: { httpGet: { path: '/healthz', port: 80 }, ...probe } }] } } } },
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'not-ready', labels: { app: 'web' }, annotations: { 'kubemu.io/fake-probe-readiness': 'failure' } },
          spec: { containers: [{ name: 'web', image: 'nginx', readinessProbe: { httpGet: { path: '/', port: 80 }, ...probe } }] } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } },
      ],
    };
    const file = path.join(c.dir, 'web.json');
    fs.writeFileSync(file, JSON.stringify(manifest));
    await c.kubectl('apply', '-f', file);
    const pods = await until('6 Ready web pods', async () => {
      const list = JSON.parse(await c.kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).items as any[];
      const ready = list.filter((p) => p.metadata.name !== 'not-ready' && p.status.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'));
      return ready.length === 6 ? list : undefined;
    }, 90_000);
    // The annotated pod runs but never becomes Ready.
    await new Promise((r) => setTimeout(r, 3000));
    const nr = JSON.parse(await c.kubectl('get', 'pod', 'not-ready', '-o', 'json'));
    assert.equal(nr.status.phase, 'Running');
    assert.equal(nr.status.conditions.find((x: any) => x.type === 'Ready').status, 'False');
    // Unique addresses, each inside its node's /24.
    const ips = pods.map((p) => p.status.podIP as string);
    assert.equal(new Set(ips).size, ips.length, `duplicate pod IPs: ${ips}`);
    for (const p of pods) {
      const n = Number(/^node-(\d+)$/.exec(p.spec.nodeName.replace(/^.*?node-/, 'node-'))?.[1] ?? NaN);
      assert.ok(inCidr(p.status.podIP, `10.244.${n}.0/24`), `${p.metadata.name} on ${p.spec.nodeName}: ${p.status.podIP}`);
    }
    const ep = JSON.parse(await c.kubectl('get', 'endpoints', 'web', '-o', 'json'));
    const addrs = (ep.subsets ?? []).flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.ip));
    assert.equal(addrs.length, 6);
    assert.equal(new Set(addrs).size, 6);
    // The range is guarded on this host.
    assert.match(execFileSync('ip', ['route', 'show', 'type', 'unreachable'], { encoding: 'utf8' }), /10\.244\.0\.0\/14/);
    // port-forward reaches the simulated server, not the pod address.
    const target = pods.find((p) => p.metadata.name !== 'not-ready').metadata.name;
    const pf = spawn('kubectl', ['--kubeconfig', path.join(c.dir, 'kubeconfig'), 'port-forward', `pod/${target}`, ':80'], { env: { ...process.env, HOME: c.dir } });
    try {
      let out = '';
      pf.stdout.on('data', (d) => { out += d; });
      const port = await until('port-forward listening', async () => /127\.0\.0\.1:(\d+) ->/.exec(out)?.[1], 30_000);
      const body = await getOnce(`http://127.0.0.1:${port}/`);
      assert.match(body, new RegExp(`kubemu fake pod default/${target} port 80`));
    } finally { pf.kill(); }
    // Let the probes run a few more periods, then read what every process dialled.
    await new Promise((r) => setTimeout(r, 2000));
    const lines = fs.readFileSync(audit, 'utf8').trim().split('\n');
    assert.ok(lines.filter((l) => l.startsWith('tcp ')).length > 10, 'the audit recorded the cluster\'s own connections');
    const offMachine = lines.filter((l) => (l.startsWith('tcp ') || l.startsWith('udp ')) && !allowed(l.split(' ')[1]) && l.split(' ')[1] !== 'connected');
    assert.deepEqual([...new Set(offMachine)], [], 'connections to addresses outside loopback and the guarded ranges');
    const toPods = lines.filter((l) => l.startsWith('tcp 10.244.'));
    assert.deepEqual(toPods, [], 'nothing dialled a hollow pod');
  });
});
