// The official @kubernetes/client-node (1.x) against kubemu, the behaviours its own e2e suites check: Watch, an
// informer that re-lists after a 410, Exec (stdout, stderr, the exit status as a V1Status, stdin, a TTY), Attach,
// Log with follow, PortForward (WebSocket channels), KubernetesObjectApi, and leader election over a Lease as
// client-go's leaderelection does it (client-node 1.x has no elector). One apiserver over etcd and one kubelet on
// Docker (test/harness/docker-kubelet.ts); the apiserver ends REST watches after 1–2 s (--min-request-timeout 1),
// keeps 5 events per resource in its watch cache and compacts etcd every 300 ms, so an informer's re-watch from
// a resourceVersion that 10 later writes pushed out meets 410 Expired.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { PassThrough, Readable, Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import { tryAcquireOrRenew as electLeader } from '../../examples/client-node/lease-election.ts';
import { dockerKubelet, until, type DockerKubelet } from '../harness/docker-kubelet.ts';

const NS = 'default';
const PODS = { group: '', resource: 'pods' };

/** A Writable that keeps what it is given. */
function sink(): Writable & { text(): string } {
  const parts: Buffer[] = [];
  const w = new Writable({ write(chunk, _enc, cb) { parts.push(Buffer.from(chunk)); cb(); } }) as Writable & { text(): string };
  w.text = () => Buffer.concat(parts).toString('utf8');
  return w;
}

/** Run a command through client-node's Exec; resolves once the socket is closed, with what came back. */
async function exec(kc: k8s.KubeConfig, pod: string, command: string[], opts: { stdin?: Readable; tty?: boolean } = {}) {
  const stdout = sink();
  const stderr = sink();
  let status: k8s.V1Status | undefined;
  const ws = await new k8s.Exec(kc).exec(NS, pod, 'c', command, stdout, opts.tty ? null : stderr, opts.stdin ?? null, Boolean(opts.tty), (s) => { status = s; });
  await new Promise((resolve) => ws.on('close', resolve));
  return { stdout: stdout.text(), stderr: stderr.text(), status };
}

describe('@kubernetes/client-node against kubemu', () => {
  const cleanups: Array<() => unknown> = [];
  let k: DockerKubelet;
  let kc: k8s.KubeConfig;

  before(async () => {
    k = await dockerKubelet({ after: (fn) => cleanups.push(fn) }, { name: 'client-node', api: { minRequestTimeoutSeconds: 1, compactionIntervalMs: 300, watchCacheSize: 5 } });
    kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfigYaml({ server: k.api.url, token: 'client-node' }));
    const pod = (name: string, container: Record<string, unknown>) => k.client.create(PODS, NS, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { nodeName: k.node, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'kubemu/busybox:1', ...container }] },
    });
    await pod('shell', { command: ['sleep', '3600'] });
    await pod('talker', { stdin: true, command: ['sh', '-c', 'echo ready; while read l; do echo "got $l"; done'] });
    await pod('web', { command: ['sh', '-c', 'mkdir -p /www && echo hello-pf > /www/index.html && exec httpd -f -p 8080 -h /www'] });
    for (const name of ['shell', 'talker', 'web']) {
      await until(`${name} running`, async () => {
        const p = await k.client.get(PODS, NS, name);
        return p.status?.phase === 'Running' && p.status.containerStatuses?.every((c: { ready: boolean }) => c.ready);
      }, 120_000);
    }
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  test('Exec: stdout and stderr apart, the exit code in the V1Status (Success, NonZeroExitCode)', async () => {
    const ok = await exec(kc, 'shell', ['sh', '-c', 'echo out; echo err >&2']);
    assert.equal(ok.stdout, 'out\n');
    assert.equal(ok.stderr, 'err\n');
    assert.equal(ok.status?.status, 'Success');
    const bad = await exec(kc, 'shell', ['sh', '-c', 'echo partial; exit 3']);
    assert.equal(bad.stdout, 'partial\n');
    assert.equal(bad.status?.status, 'Failure');
    assert.equal(bad.status?.reason, 'NonZeroExitCode');
    assert.deepEqual(bad.status?.details?.causes, [{ reason: 'ExitCode', message: '3' }]);
  });

  test('Exec with stdin: the input reaches the process and its end is EOF (v5 close of channel 0)', async () => {
    const r = await exec(kc, 'shell', ['sh', '-c', 'cat; echo done'], { stdin: Readable.from([Buffer.from('line one\n'), Buffer.from('line two\n')]) });
    assert.equal(r.stdout, 'line one\nline two\ndone\n');
    assert.equal(r.status?.status, 'Success');
  });

  test('Exec with a TTY and a stdin that ends at once still returns the output', async () => {
    const r = await exec(kc, 'shell', ['echo', 'hi'], { stdin: Readable.from([]), tty: true });
    assert.equal(r.stdout.replace(/\r/g, ''), 'hi\n');
    assert.equal(r.status?.status, 'Success');
  });

  test('Exec: the kubelet closes the connection after the status, without waiting for the client\'s close reply', async () => {
    // A bare WebSocket client that reads frames and never answers the close frame (as some clients over TLS).
    const url = new URL(k.api.url);
    const sock = net.connect({ host: url.hostname, port: Number(url.port) });
    await new Promise((resolve) => sock.once('connect', resolve));
    sock.write(`GET /api/v1/namespaces/${NS}/pods/shell/exec?command=sh&command=-c&command=exit%205&stdout=true HTTP/1.1\r\nHost: ${url.host}\r\n`
      + `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n`
      + 'Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n');
    const parts: Buffer[] = [];
    sock.on('data', (d: Buffer) => parts.push(d));
    // Waiting for a reply would hold the connection for the WebSocket close timeout (30 s) instead.
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the connection stayed open after the close frame')), 10_000);
      sock.once('end', () => { clearTimeout(timer); resolve(undefined); });
      sock.once('error', reject);
    });
    sock.destroy();
    const all = Buffer.concat(parts);
    const body = all.subarray(all.indexOf('\r\n\r\n') + 4);
    assert.match(all.subarray(0, all.indexOf('\r\n')).toString(), /^HTTP\/1\.1 101 /);
    // Server frames are unmasked: [FIN|opcode, length (126: a 16-bit length follows)], payload.
    const frames: Array<{ op: number; data: Buffer }> = [];
    for (let i = 0; i < body.length;) {
      let len = body[i + 1] & 0x7f;
      let at = i + 2;
      if (len === 126) { len = body.readUInt16BE(at); at += 2; }
      frames.push({ op: body[i] & 0x0f, data: body.subarray(at, at + len) });
      i = at + len;
    }
    const status = frames.find((f) => f.op === 2 && f.data[0] === 3);
    assert.ok(status, `a status frame among ${frames.length}`);
    assert.deepEqual(JSON.parse(status.data.subarray(1).toString()).details, { causes: [{ reason: 'ExitCode', message: '5' }] });
    assert.equal(frames.at(-1)?.op, 8, 'the last frame is the close frame');
  });

  test('Attach sends input to the container\'s stdin; Log with follow sees the lines as they come', async () => {
    const logged = sink();
    let logDone: unknown = 'not yet';
    const abort = await new k8s.Log(kc).log(NS, 'talker', 'c', logged, (err) => { logDone = err; }, { follow: true });
    await until('the log so far', async () => logged.text().includes('ready\n'));
    const stdin = new PassThrough();
    const out = sink();
    const ws = await new k8s.Attach(kc).attach(NS, 'talker', 'c', out, null, stdin, false);
    stdin.write('one\n');
    await until('attach output', async () => out.text().includes('got one\n'));
    stdin.write('two\n');
    await until('followed log line', async () => logged.text().includes('got two\n'));
    assert.equal(logged.text(), 'ready\ngot one\ngot two\n');
    assert.equal(logDone, 'not yet', 'the followed log is still open');
    ws.close();
    abort.abort();
  });

  test('PortForward: an HTTP request through the WebSocket channels reaches the pod and its answer comes back', async () => {
    const input = new PassThrough();
    const output = sink();
    const errors = sink();
    const ws = await new k8s.PortForward(kc).portForward(NS, 'web', [8080], output, errors, input) as import('ws').WebSocket;
    const closed = new Promise((resolve) => ws.on('close', resolve));
    input.write('GET /index.html HTTP/1.0\r\n\r\n');
    await closed; // httpd answers and closes; the kubelet then closes the socket
    assert.match(output.text(), /^HTTP\/1\.[01] 200 OK\r\n/);
    assert.ok(output.text().endsWith('hello-pf\n'), output.text());
    assert.equal(errors.text(), '');

    // A port nothing listens on: the kubelet's error text on the error channel.
    const refusedIn = new PassThrough();
    const refusedErr = sink();
    const ws2 = await new k8s.PortForward(kc).portForward(NS, 'web', [9], sink(), refusedErr, refusedIn) as import('ws').WebSocket;
    await new Promise((resolve) => ws2.on('close', resolve));
    assert.match(refusedErr.text(), /^error forwarding port 9 to pod web, uid [0-9a-f-]+: dial tcp [\d.]+:9: connect: connection refused$/);
  });

  test('PortForward bad input: an unparsable port is a 400 Status from the apiserver, none at all the kubelet\'s 400', async () => {
    const upgrade = (query: string) => new Promise<{ code: number; body: string }>((resolve, reject) => {
      const req = http.request(`${k.api.url}/api/v1/namespaces/${NS}/pods/web/portforward${query}`, {
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'), 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Protocol': 'v4.channel.k8s.io' },
      });
      req.on('response', (res) => { let body = ''; res.on('data', (d) => { body += d; }).on('end', () => resolve({ code: res.statusCode!, body })); });
      req.on('upgrade', (_res, socket) => { socket.destroy(); reject(new Error('upgraded')); });
      req.on('error', reject).end();
    });
    const bad = await upgrade('?ports=http');
    assert.equal(bad.code, 400);
    assert.equal(JSON.parse(bad.body).message, 'cannot convert to []int32: strconv.ParseUint: parsing "http": invalid syntax');
    assert.deepEqual(await upgrade(''), { code: 400, body: 'query parameter "port" is required' });
  });

  test('Watch: ADDED, MODIFIED, DELETED of ConfigMaps, and done() once aborted', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const seen: string[] = [];
    let ended: unknown = 'open';
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const req = await new k8s.Watch(kc).watch(`/api/v1/namespaces/${NS}/configmaps`, { resourceVersion: list.metadata!.resourceVersion, timeoutSeconds: 60 },
      (phase, obj: k8s.V1ConfigMap) => { if (obj.metadata?.name === 'watched') seen.push(`${phase}:${obj.data?.v ?? ''}`); },
      (err) => { ended = err; });
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'watched' }, data: { v: '1' } } });
    await core.patchNamespacedConfigMap({ namespace: NS, name: 'watched', body: { data: { v: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await core.deleteNamespacedConfigMap({ namespace: NS, name: 'watched' });
    await until('three events', async () => seen.length >= 3);
    assert.deepEqual(seen, ['ADDED:1', 'MODIFIED:2', 'DELETED:2']);
    req.abort();
    await until('done called', async () => ended !== 'open');
  });

  test('an informer whose re-watch meets a compacted resourceVersion (410) re-lists and stays right', async (t) => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const namespace = 'informed';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const path = `/api/v1/namespaces/${namespace}/configmaps`;
    let lists = 0;
    const expired: number[] = [];
    const inner = new k8s.Watch(kc);
    // client-node's own Watch, with the ERROR events it passes on noted.
    const watch = { config: kc, watch: (p: string, q: Record<string, string | number | boolean | undefined>, cb: (phase: string, obj: any, w?: any) => void, done: (err: any) => void) =>
      inner.watch(p, q, (phase, obj, w) => { if (phase === 'ERROR') expired.push(obj.code); cb(phase, obj, w); }, done) } as unknown as k8s.Watch;
    const added = new Set<string>();
    const deleted = new Set<string>();
    const errors: unknown[] = [];
    const informer = new k8s.ListWatch<k8s.V1ConfigMap>(path, watch, () => { lists++; return core.listNamespacedConfigMap({ namespace }); }, false);
    informer.on('add', (o) => added.add(o.metadata!.name!));
    informer.on('delete', (o) => deleted.add(o.metadata!.name!));
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    t.after(() => informer.stop());
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'first' } } });
    await until('first added', async () => added.has('first'));
    // Writes elsewhere push the informer's resourceVersion out of the watch cache; compaction removes it from etcd.
    for (let i = 0; i < 10; i++) await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `elsewhere-${i}` } } });
    await until('a 410 on re-watch and a second list', async () => expired.includes(410) && lists >= 2, 60_000);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'second' } } });
    await core.deleteNamespacedConfigMap({ namespace, name: 'first' });
    await until('second added, first deleted', async () => added.has('second') && deleted.has('first'), 60_000);
    assert.deepEqual(informer.list(namespace).map((o) => o.metadata!.name), ['second']);
    assert.deepEqual(errors, []);
  });

  test('KubernetesObjectApi: create, read, merge patch, list, delete', async () => {
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const spec = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'generic', namespace: NS, labels: { via: 'object-api' } }, data: { a: '1' } };
    const created = await objects.create(spec);
    assert.equal((created as k8s.V1ConfigMap).metadata?.uid?.length, 36);
    const read = await objects.read<k8s.V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'generic', namespace: NS } });
    assert.deepEqual(read.data, { a: '1' });
    const patched = await objects.patch<k8s.V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'generic', namespace: NS }, data: { b: '2' } } as k8s.V1ConfigMap,
      undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
    assert.deepEqual(patched.data, { a: '1', b: '2' });
    const listed = await objects.list<k8s.V1ConfigMap>('v1', 'ConfigMap', NS, undefined, undefined, undefined, undefined, 'via=object-api');
    assert.deepEqual(listed.items.map((o) => o.metadata?.name), ['generic']);
    // A Deployment through the same client: the group's resource is found by discovery.
    const dep = await objects.create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'generic', namespace: NS },
      spec: { replicas: 0, selector: { matchLabels: { app: 'g' } }, template: { metadata: { labels: { app: 'g' } }, spec: { containers: [{ name: 'c', image: 'kubemu/busybox:1' }] } } } } as k8s.V1Deployment);
    assert.equal((dep as k8s.V1Deployment).spec?.strategy?.type, 'RollingUpdate');
    const status = await objects.delete(spec);
    assert.equal(status.status ?? 'Success', 'Success');
    await objects.delete(dep);
    await assert.rejects(objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'generic', namespace: NS } }), (err: any) => err.code === 404);
  });

  test('leader election over a Lease, as client-go does it: one holder, renewals, take-over after expiry, optimistic concurrency', async () => {
    const leases = kc.makeApiClient(k8s.CoordinationV1Api);
    const name = 'election';
    const DURATION = 2;
    const tryAcquireOrRenew = (id: string) => electLeader(leases, NS, name, id, DURATION);

    assert.equal(await tryAcquireOrRenew('a'), true);
    assert.equal(await tryAcquireOrRenew('b'), false, 'b may not take a held lease');
    const first = await leases.readNamespacedLease({ name, namespace: NS });
    assert.equal(first.spec?.holderIdentity, 'a');
    assert.match(String(first.spec?.renewTime instanceof Date ? first.spec.renewTime.toISOString() : first.spec?.renewTime), /^\d{4}-\d\d-\d\dT/);
    await until('a renews (a new resourceVersion)', async () => (await tryAcquireOrRenew('a'))
      && (await leases.readNamespacedLease({ name, namespace: NS })).metadata!.resourceVersion !== first.metadata!.resourceVersion);
    // a stops renewing: b gets the lease once renewTime + leaseDurationSeconds has passed, not before.
    await until('b takes over after expiry', () => tryAcquireOrRenew('b'), 30_000);
    const taken = await leases.readNamespacedLease({ name, namespace: NS });
    assert.equal(taken.spec?.holderIdentity, 'b');
    assert.equal(taken.spec?.leaseTransitions, 1);
    assert.equal(await tryAcquireOrRenew('a'), false, 'a finds b holding it');
    // Two writers of the same resourceVersion: exactly one wins, the other gets 409 Conflict.
    const [x, y] = await Promise.allSettled([taken, taken].map((l, i) => leases.replaceNamespacedLease({ name, namespace: NS, body: { ...l, spec: { ...l.spec, holderIdentity: `racer-${i}` } } })));
    assert.deepEqual([x.status, y.status].sort(), ['fulfilled', 'rejected']);
    assert.equal(((x.status === 'rejected' ? x : y) as PromiseRejectedResult).reason.code, 409);
  });
});

