// `kubectl port-forward` (and SPDY exec) end to end: the real kubectl binaries against the apiserver,
// a kubelet with the Docker runtime and pods on the Docker network. kubectl 1.31+ tunnels SPDY inside
// a WebSocket, ≤ 1.30 upgrades to SPDY/3.1 directly; both reach the kubelet's /portForward through the
// apiserver. kubectl 1.27–1.29 exec over SPDY only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import { removeNodeContainers } from '../../launcher/docker-cleanup.ts';
import { CriClient } from '../../kubelet/cri/client.ts';
import { CriServer } from '../../kubelet/cri/server.ts';
import { DockerRuntime } from '../../kubelet/cri/docker/runtime.ts';
import { Kubelet } from '../../kubelet/kubelet.ts';
import { createKubeletServer } from '../../kubelet/server.ts';
import { closeServer, trackSockets } from '../../lib/close-server.ts';
import { freePort } from '../../lib/free-port.ts';
import { createLogger, silentLogger } from '../../lib/logger.ts';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { until } from '../harness/kubemu-cluster.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PODS = { group: '', resource: 'pods' };
const NODE = `e2e-pf-${process.pid}`;
const kubeletLog: string[] = [];
const NETWORK = `kubemu-e2e-pf-${process.pid}`;
/** The versioned kubectl binaries sit beside the default one (a dispatcher on this machine). */
const KUBECTL_DIR = path.dirname(fs.realpathSync(execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim()));
const kubectlBin = (version?: string) => (version ? path.join(KUBECTL_DIR, `kubectl.${version}`) : 'kubectl');

/** A GET on a fresh connection (no keep-alive, so each request is a new forwarded connection). */
function get(port: number, urlPath = '/'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 30_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c)).on('end', () => resolve(Buffer.concat(parts))).on('error', reject);
    });
    req.on('error', reject).on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** Send bytes, half-close, read everything back (the pod's `nc -e sha256sum` answers the hash). */
function roundTrip(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const sock = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => sock.end(data));
    sock.on('data', (c: Buffer) => parts.push(c)).on('end', () => { sock.destroy(); resolve(Buffer.concat(parts).toString()); }).on('error', reject);
    sock.setTimeout(30_000, () => sock.destroy(new Error('timeout')));
  });
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('kubectl port-forward and SPDY exec through the apiserver and the kubelet', () => {
  const cleanups: Array<() => unknown> = [];
  const children = new Set<ChildProcess>();
  let api: TestApiServer;
  let client: ApiClient;
  let criServer: CriServer;
  let cri: CriClient;
  let rootDir: string;
  let kubeconfig: string;
  let kubelet: { stop: AbortController; done: Promise<void> };
  let kubeletServer: http.Server;

  /** Start `kubectl port-forward`, wait until it listens on every port; killed after the suite at the latest. */
  async function portForward(version: string | undefined, target: string, remotePorts: number[]) {
    const child = spawn(kubectlBin(version), ['--kubeconfig', kubeconfig, 'port-forward', target, ...remotePorts.map((p) => `:${p}`)], { env: { ...process.env, HOME: rootDir } });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const local = await until(`kubectl ${version ?? ''} port-forward listening`, async () => {
      if (child.exitCode !== null) throw new Error(`kubectl exited ${child.exitCode}: ${stderr}`);
      const found = remotePorts.map((p) => new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${p}\\n`).exec(stdout)?.[1]);
      return found.every(Boolean) ? found.map(Number) : undefined;
    });
    return {
      local, child, output: () => ({ stdout, stderr }),
      stop: async () => { if (child.exitCode === null) { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } children.delete(child); },
    };
  }

  const kubectl = (version: string | undefined, args: string[], input?: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(kubectlBin(version), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', env: { ...process.env, HOME: rootDir }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });

  before(async () => {
    execFileSync('bash', [path.join(ROOT, 'scripts/build-images.sh')], { stdio: 'ignore' });
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    client = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-pf-'));
    kubeconfig = path.join(rootDir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
    const runtime = new DockerRuntime({ nodeName: NODE, network: NETWORK });
    criServer = new CriServer({ socketPath: path.join(rootDir, 'cri.sock'), runtime, images: runtime });
    await criServer.start();
    cri = new CriClient({ socketPath: path.join(rootDir, 'cri.sock') });
    const kubeletPort = await freePort();
    const k = new Kubelet({
      client, runtime: cri, images: cri, rootDir, nodeName: NODE, nodeIP: '127.0.0.1', kubeletPort, runtimeVersion: 'docker://kubemu',
      cpu: '2', memory: '2Gi', syncIntervalMs: 300, backoffInitialMs: 500, backoffMaxMs: 2000,
      // Kept in memory: printed only if the pods do not come up (what the kubelet tried, and why it failed).
      logger: createLogger('kubelet', { level: 'info', destination: { write: (line: string) => { kubeletLog.push(line); if (kubeletLog.length > 400) kubeletLog.shift(); } } }),
    });
    kubeletServer = trackSockets(createKubeletServer({ runtime: cri, streaming: runtime, pods: () => k.podList(), logger: silentLogger() }));
    await new Promise<void>((r) => kubeletServer.listen(kubeletPort, '127.0.0.1', () => r()));
    const stop = new AbortController();
    kubelet = { stop, done: k.run(stop.signal) };

    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
      spec: {
        nodeName: NODE, terminationGracePeriodSeconds: 0,
        containers: [{ name: 'hello', image: 'kubemu/hello:1', env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }],
      },
    });
    // 6 MiB of random bytes served by httpd on 8080 (with their hash), and a hash-what-you-send server on 9000.
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'files' },
      spec: {
        nodeName: NODE, terminationGracePeriodSeconds: 0,
        containers: [
          { name: 'httpd', image: 'kubemu/busybox:1', command: ['sh', '-c', 'mkdir -p /www && dd if=/dev/urandom of=/www/big bs=1048576 count=6 2>/dev/null && sha256sum /www/big | cut -d" " -f1 > /www/big.sha && exec httpd -f -p 8080 -h /www'] },
          { name: 'hasher', image: 'kubemu/busybox:1', command: ['nc', '-ll', '-p', '9000', '-e', 'sha256sum'] },
        ],
      },
    });
    try {
      await podsAnswering();
    } catch (err) {
      // What the kubelet tried and why it failed, in the error itself (the last lines; the first ones repeat).
      throw new Error(`${(err as Error).message}\nkubelet log (last ${Math.min(40, kubeletLog.length)} of ${kubeletLog.length} lines):\n${kubeletLog.slice(-40).join('')}`);
    }
  });

  async function podsAnswering() {
    for (const name of ['web', 'files']) {
      const pod = await until(`${name} running`, async () => {
        const p = await client.get(PODS, 'default', name);
        if (p.status?.phase === 'Running' && p.status.containerStatuses?.every((c: { ready: boolean }) => c.ready)) return p;
        // Not yet: say what the kubelet reported, with the pod's events (why a sandbox or container did not start).
        const events = (await client.list({ group: '', resource: 'events' }, 'default', { fieldSelector: `involvedObject.name=${name}` })).items
          .map((e) => `${e.reason}: ${(e as { message?: string }).message}`);
        throw new Error(`phase ${p.status?.phase}, containers ${JSON.stringify(p.status?.containerStatuses?.map((c: { state: unknown }) => c.state))}, events ${JSON.stringify(events)}`);
      }, 120_000);
      // Running is not listening yet: wait until the server answers on the pod IP.
      await until(`${name} answering`, async () => (await fetch(`http://${pod.status.podIP}:8080/${name === 'files' ? 'big.sha' : ''}`, { signal: AbortSignal.timeout(2000) })).ok);
    }
  }

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    kubelet?.stop.abort();
    await kubelet?.done;
    await closeServer(kubeletServer);
    await removeNodeContainers([NODE], NETWORK).catch(() => 0);
    cri.close();
    await criServer.stop();
    await client.close();
    for (const fn of cleanups.reverse()) await fn();
    fs.rmSync(rootDir, { recursive: true, force: true });
  });

  test('kubectl (1.32, WebSocket) forwards sequential and concurrent HTTP requests to the pod', async () => {
    const pf = await portForward(undefined, 'pod/web', [8080]);
    try {
      assert.match(pf.output().stdout, /Forwarding from 127\.0\.0\.1:\d+ -> 8080/);
      for (let i = 0; i < 5; i++) assert.equal((await get(pf.local[0])).toString(), 'web\n');
      const bodies = await Promise.all(Array.from({ length: 10 }, () => get(pf.local[0])));
      for (const b of bodies) assert.equal(b.toString(), 'web\n');
      assert.match(pf.output().stdout, /Handling connection for \d+/);
    } finally { await pf.stop(); }
  });

  test('6 MiB down and 5 MiB up pass intact (kubectl 1.32)', async () => {
    const pf = await portForward(undefined, 'pod/files', [8080, 9000]);
    try {
      const [big, expected] = await Promise.all([get(pf.local[0], '/big'), get(pf.local[0], '/big.sha')]);
      assert.equal(big.length, 6 * 1024 * 1024);
      assert.equal(sha(big), expected.toString().trim());
      const upload = crypto.randomBytes(5 * 1024 * 1024 + 17);
      assert.match(await roundTrip(pf.local[1], upload), new RegExp(`^${sha(upload)}\\s`));
    } finally { await pf.stop(); }
  });

  // The kubelet reports the failed dial as text on that request's error stream and keeps the session
  // (kubelet/port-forward.test.ts shows the other requests going on). kubectl 1.27 … 1.33 then print it
  // and close the whole session themselves ("lost connection to pod"), as they do against a real kubelet.
  for (const version of ['1.27', '1.32']) {
    test(`a port nothing listens on: kubectl ${version} prints the kubelet's error`, async () => {
      const pf = await portForward(version, 'pod/web', [8080, 9999]);
      try {
        assert.equal((await get(pf.local[0])).toString(), 'web\n');
        const bad = await get(pf.local[1]).then((b) => `answered ${b}`, (err: Error) => err.message);
        assert.doesNotMatch(bad, /^answered/);
        await until('the error in kubectl output', async () =>
          /error forwarding port 9999 to pod web, uid [0-9a-f-]+: dial tcp [\d.]+:9999: connect: connection refused/.test(pf.output().stderr), 30_000);
        await until('kubectl to close the session', async () => /lost connection to pod/.test(pf.output().stderr), 30_000);
      } finally { await pf.stop(); }
    });
  }

  for (const version of ['1.27', '1.33']) {
    test(`kubectl ${version} (${version === '1.27' ? 'SPDY' : 'WebSocket'}) forwards requests and a 6 MiB download`, async () => {
      const pf = await portForward(version, 'pod/files', [8080]);
      try {
        const bodies = await Promise.all(Array.from({ length: 4 }, () => get(pf.local[0], '/big.sha')));
        for (const b of bodies) assert.match(b.toString(), /^[0-9a-f]{64}\n$/);
        const big = await get(pf.local[0], '/big');
        assert.equal(sha(big), bodies[0].toString().trim());
      } finally { await pf.stop(); }
      const web = await portForward(version, 'pod/web', [8080]);
      try { assert.equal((await get(web.local[0])).toString(), 'web\n'); } finally { await web.stop(); }
    });
  }

  test('kubectl 1.27 and 1.29 exec over SPDY: output, exit codes, stdin', async () => {
    const hi = await kubectl('1.27', ['exec', 'files', '-c', 'httpd', '--', 'echo', 'hi']);
    assert.equal(hi.code, 0, hi.stderr);
    assert.equal(hi.stdout, 'hi\n');
    const fail = await kubectl('1.27', ['exec', 'files', '-c', 'httpd', '--', 'sh', '-c', 'echo oops >&2; exit 3']);
    assert.equal(fail.code, 3);
    assert.match(fail.stderr, /oops/);
    assert.match(fail.stderr, /command terminated with exit code 3/);
    const piped = await kubectl('1.27', ['exec', '-i', 'files', '-c', 'httpd', '--', 'cat'], 'through stdin\n');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'through stdin\n');
    // 1.29 offers v5.channel.k8s.io first over SPDY; the kubelet answers v4.
    const v129 = await kubectl('1.29', ['exec', 'files', '-c', 'httpd', '--', 'sh', '-c', 'echo hi; exit 2']);
    assert.equal(v129.code, 2, v129.stderr);
    assert.equal(v129.stdout, 'hi\n');
    // And the default kubectl still uses the WebSocket.
    const ws = await kubectl(undefined, ['exec', 'files', '-c', 'httpd', '--', 'echo', 'ws']);
    assert.equal(ws.stdout, 'ws\n', ws.stderr);
  });

  test('bad input: a missing pod and a pod that is not running get clear errors', async () => {
    const missing = await kubectl(undefined, ['port-forward', 'pod/nope', ':8080']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /pods "nope" not found/);
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nowhere' },
      spec: { containers: [{ name: 'c', image: 'kubemu/busybox:1' }] },
    });
    // kubectl checks the phase itself; the apiserver refuses too, for clients that do not.
    const pending = await kubectl(undefined, ['port-forward', 'pod/nowhere', ':8080']);
    assert.notEqual(pending.code, 0);
    assert.match(pending.stderr, /not running/);
    const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${api.url}/api/v1/namespaces/default/pods/nowhere/portforward`, { method: 'POST', headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' } });
      req.on('response', (res) => { let body = ''; res.on('data', (d) => { body += d; }).on('end', () => resolve({ status: res.statusCode!, body })); });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject).end();
    });
    assert.equal(raw.status, 400);
    assert.equal(JSON.parse(raw.body).kind, 'Status');
    assert.match(JSON.parse(raw.body).message, /unable to forward ports to pod nowhere: it is not running \(phase Pending\)/);
    await client.delete(PODS, 'default', 'nowhere');
  });
});
