// The kubelet with the real Docker runtime (over the CRI gRPC socket) against a real apiserver:
// node registration, a pod bound to the node running in Docker and answering on its pod IP,
// a crash loop with restarts, adoption by a restarted kubelet, and graceful deletion.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../../api/types.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { removeNodeContainers } from '../../launcher/docker-cleanup.ts';
import { CriClient } from '../../kubelet/cri/client.ts';
import { CriServer } from '../../kubelet/cri/server.ts';
import { DockerRuntime } from '../../kubelet/cri/docker/runtime.ts';
import { Kubelet } from '../../kubelet/kubelet.ts';
import { createKubeletServer } from '../../kubelet/server.ts';
import { freePort } from '../../lib/free-port.ts';
import { closeServer, trackSockets } from '../../lib/close-server.ts';
import { silentLogger } from '../../lib/logger.ts';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import http from 'node:http';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { until } from '../harness/docker-kubelet.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PODS = { group: '', resource: 'pods' };
const NODES = { group: '', resource: 'nodes' };
const run = promisify(execFile);
const NODE = `e2e-kubelet-${process.pid}`;
const NETWORK = `kubemu-e2e-${process.pid}`;


/** Containers of this test's node with `label` (other suites running meanwhile have pods of the same names). */
const dockerIds = async (label: string) => (await run('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=io.kubemu.node=${NODE}`, '--filter', `label=${label}`])).stdout.split('\n').filter(Boolean).sort();

describe('kubelet with the Docker runtime', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let client: ApiClient;
  let criServer: CriServer;
  let cri: CriClient;
  let dockerRuntime: DockerRuntime;
  let rootDir: string;
  let kubelet: { stop: AbortController; done: Promise<void>; k: Kubelet } | undefined;
  let kubeletPort = 0;
  let kubeletServer: http.Server;

  const startKubelet = () => {
    const k = new Kubelet({
      client, runtime: cri, images: cri, rootDir, nodeName: NODE, nodeIP: '127.0.0.1', kubeletPort, runtimeVersion: 'docker://kubemu',
      cpu: '2', memory: '2Gi', syncIntervalMs: 300, backoffInitialMs: 500, backoffMaxMs: 2000,
    });
    const stop = new AbortController();
    kubelet = { stop, done: k.run(stop.signal), k };
  };
  const stopKubelet = async () => { kubelet?.stop.abort(); await kubelet?.done; kubelet = undefined; };

  before(async () => {
    execFileSync('bash', [path.join(ROOT, 'scripts/build-images.sh')], { stdio: 'ignore' });
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    client = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-kubelet-'));
    const runtime = dockerRuntime = new DockerRuntime({ nodeName: NODE, network: NETWORK });
    criServer = new CriServer({ socketPath: path.join(rootDir, 'cri.sock'), runtime, images: runtime });
    await criServer.start();
    cri = new CriClient({ socketPath: path.join(rootDir, 'cri.sock') });
    kubeletPort = await freePort();
    kubeletServer = trackSockets(createKubeletServer({ runtime: cri, streaming: dockerRuntime, pods: () => kubelet?.k.podList() ?? [], logger: silentLogger() }));
    await new Promise<void>((r) => kubeletServer.listen(kubeletPort, '127.0.0.1', () => r()));
    startKubelet();
  });
  after(async () => {
    await stopKubelet();
    await closeServer(kubeletServer);
    // Leave nothing behind, even when a test failed.
    await removeNodeContainers([NODE], NETWORK).catch(() => 0);
    cri.close();
    await criServer.stop();
    await client.close();
    for (const fn of cleanups.reverse()) await fn();
    fs.rmSync(rootDir, { recursive: true, force: true });
  });

  test('registers a Ready node with capacity and a lease', async () => {
    const node = await until('node', () => client.get(NODES, undefined, NODE));
    assert.equal(node.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    assert.equal(node.status.allocatable.cpu, '2');
    assert.equal(node.metadata.labels?.['kubernetes.io/hostname'], NODE);
    const lease = await until('lease', () => client.get({ group: 'coordination.k8s.io', resource: 'leases' }, 'kube-node-lease', NODE));
    assert.equal(lease.spec.holderIdentity, NODE);
  });

  test('a pod runs in Docker, answers on its pod IP, is adopted after a kubelet restart, is recreated when its containers are killed behind the kubelet, and is deleted gracefully', async () => {
    const pod: KubeObject = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        nodeName: NODE, terminationGracePeriodSeconds: 5,
        containers: [{ name: 'hello', image: 'kubemu/hello:1', env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }],
      },
    };
    await client.create(PODS, 'default', pod);
    const running = await until('Running', async () => {
      const p = await client.get(PODS, 'default', 'web');
      return p.status?.phase === 'Running' && p.status.podIP && p.status.containerStatuses?.[0]?.ready ? p : undefined;
    });
    assert.equal(running.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    assert.match(running.status.containerStatuses[0].containerID, /^docker:\/\/[0-9a-f]{64}$/);
    const body = await until('HTTP answer', async () => (await fetch(`http://${running.status.podIP}:8080/`, { signal: AbortSignal.timeout(2000) })).text());
    assert.match(body, /web/);
    const ids = await dockerIds(`io.kubernetes.pod.name=web`);
    assert.equal(ids.length, 2, 'a sandbox and one app container, labelled with the pod');

    // kill the kubelet's loop and start a new one: the same containers are adopted, none added.
    await stopKubelet();
    startKubelet();
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(await dockerIds(`io.kubernetes.pod.name=web`), ids);
    assert.equal((await client.get(PODS, 'default', 'web')).status.containerStatuses[0].restartCount, 0);

    // Containers stopped behind the kubelet's back are brought back: the app container, then the whole sandbox.
    const appId = (await client.get(PODS, 'default', 'web')).status.containerStatuses[0].containerID.replace('docker://', '');
    await run('docker', ['kill', appId]);
    await until('app container restarted', async () => {
      const cs = (await client.get(PODS, 'default', 'web')).status?.containerStatuses?.[0];
      return cs?.restartCount >= 1 && cs.state?.running ? cs : undefined;
    });
    const sandboxIds = (await dockerIds('io.kubernetes.pod.name=web')).filter((id) => !id.startsWith(appId));
    await run('docker', ['rm', '-f', ...sandboxIds]);
    const back = await until('pod running again in a new sandbox', async () => {
      const p = await client.get(PODS, 'default', 'web');
      const cs = p.status?.containerStatuses?.[0];
      return cs?.state?.running && cs.ready && !sandboxIds.some((id) => cs.containerID.includes(id)) ? p : undefined;
    });
    // Running is not listening yet: the new container's server may take a moment to bind.
    const again = await until('HTTP answer from the new sandbox', async () => (await fetch(`http://${back.status.podIP}:8080/`, { signal: AbortSignal.timeout(2000) })).text());
    assert.match(again, /web/);
    assert.equal((await dockerIds('io.kubernetes.pod.name=web')).length, 2, 'no duplicate containers');

    await client.delete(PODS, 'default', 'web');
    await until('pod gone', async () => client.get(PODS, 'default', 'web').then(() => false, (e) => e.code === 'NotFound'));
    assert.deepEqual(await dockerIds(`io.kubernetes.pod.name=web`), []);
  });

  test('a container that exits non-zero restarts with back-off and shows CrashLoopBackOff', async () => {
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'crasher' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sh', '-c', 'echo bye; exit 3'] }] },
    });
    const seen = new Set<string>();
    const p = await until('restarts', async () => {
      const cur = await client.get(PODS, 'default', 'crasher');
      const cs = cur.status?.containerStatuses?.[0];
      if (cs?.state?.waiting?.reason) seen.add(cs.state.waiting.reason);
      return cs && cs.restartCount >= 2 && seen.has('CrashLoopBackOff') ? cur : undefined;
    }, 40_000);
    const cs = p.status.containerStatuses[0];
    assert.equal(cs.lastState.terminated.exitCode, 3);
    // Between two crashes the container may be caught running (no readiness probe: ready, as in Kubernetes).
    assert.equal(cs.ready, Boolean(cs.state?.running));
    assert.equal(p.status.phase, 'Running');
    await client.delete(PODS, 'default', 'crasher');
    await until('crasher gone', async () => client.get(PODS, 'default', 'crasher').then(() => false, (e) => e.code === 'NotFound'));
  });

  test('kubectl logs (also --tail and --previous) through the apiserver and the kubelet', async () => {
    const kubeconfig = path.join(rootDir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
    const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', env: { ...process.env, HOME: rootDir } })).stdout;
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'talker' },
      spec: {
        nodeName: NODE, terminationGracePeriodSeconds: 0, restartPolicy: 'OnFailure', volumes: [{ name: 'state', emptyDir: {} }],
        // Fails once (the marker survives the restart in the emptyDir), then keeps running.
        containers: [{ name: 'c', image: 'kubemu/busybox:1', volumeMounts: [{ name: 'state', mountPath: '/state' }], command: ['sh', '-c', 'echo line-$(cat /proc/uptime | cut -d. -f1); echo second; [ -e /state/x ] || { touch /state/x; exit 1; }; sleep 3600'] }],
      },
    });
    await until('talker restarted once and running', async () => {
      const cs = (await client.get(PODS, 'default', 'talker')).status?.containerStatuses?.[0];
      return cs?.restartCount >= 1 && cs.state?.running ? cs : undefined;
    });
    const out = await until('logs', async () => { const o = await kubectl('logs', 'talker'); return o.includes('second') ? o : undefined; });
    assert.match(out, /^line-\d+\nsecond\n$/);
    assert.equal(await kubectl('logs', 'talker', '--tail=1'), 'second\n');
    assert.match(await kubectl('logs', 'talker', '--previous'), /^line-\d+\nsecond\n$/);
    const missing = await run('kubectl', ['--kubeconfig', kubeconfig, 'logs', 'nope'], { env: { ...process.env, HOME: rootDir } }).catch((e) => e);
    assert.match(String(missing.stderr), /pods "nope" not found/);
    await client.delete(PODS, 'default', 'talker');
  });

  test('probes: a failing readiness probe keeps Ready=False, a failing liveness probe restarts the container', async () => {
    const probe = { httpGet: { path: '/cgi-bin/healthz', port: 8080 }, periodSeconds: 1, failureThreshold: 2, timeoutSeconds: 1 };
    const mk = (name: string, kind: 'readinessProbe' | 'livenessProbe') => client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image: 'kubemu/hello:1', env: [{ name: 'FAIL_PROBES', value: '1' }], [kind]: probe }] },
    });
    await mk('unready', 'readinessProbe');
    await mk('unlive', 'livenessProbe');
    const unready = await until('unready Running but not Ready', async () => {
      const p = await client.get(PODS, 'default', 'unready');
      return p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state?.running && p.status.containerStatuses[0].started ? p : undefined;
    });
    await new Promise((r) => setTimeout(r, 3000));
    const later = await client.get(PODS, 'default', 'unready');
    assert.equal(later.status.containerStatuses[0].ready, false);
    assert.equal(later.status.containerStatuses[0].restartCount, 0);
    assert.equal(later.status.conditions.find((c: any) => c.type === 'Ready').status, 'False');
    assert.ok(unready);
    const restarted = await until('unlive restarted by its liveness probe', async () => {
      const p = await client.get(PODS, 'default', 'unlive');
      return p.status?.containerStatuses?.[0]?.restartCount >= 1 ? p : undefined;
    }, 40_000);
    assert.ok(restarted);
    // Events are posted apart from the pod status: wait for them rather than read them once.
    const unhealthy = (e: any) => e.involvedObject.name === 'unready' && e.reason === 'Unhealthy' && /^Readiness probe failed: HTTP probe failed with statuscode: 500/.test(e.message);
    const killing = (e: any) => e.involvedObject.name === 'unlive' && e.reason === 'Killing' && e.message === 'Container web failed liveness probe, will be restarted';
    const events = await until('the Unhealthy and Killing events', async () => {
      const items = (await client.list({ group: '', resource: 'events' }, 'default')).items as any[];
      return items.some(unhealthy) && items.some(killing) ? items : undefined;
    });
    assert.ok(events.some(unhealthy));
    assert.ok(events.some(killing));
    for (const n of ['unready', 'unlive']) await client.delete(PODS, 'default', n, { gracePeriodSeconds: 0 });
  });

  test('kubectl exec: output, exit codes, and stdin with -i (WebSocket v5 through the apiserver)', async () => {
    const kubeconfig = path.join(rootDir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
    const kubectl = (args: string[], input?: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', env: { ...process.env, HOME: rootDir }, timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as any).code ?? 1) : 0, stdout, stderr }));
      if (input !== undefined) child.stdin!.end(input);
    });
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shell' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'sh', image: 'kubemu/busybox:1', command: ['sleep', '3600'] }] },
    });
    await until('shell running', async () => (await client.get(PODS, 'default', 'shell')).status?.containerStatuses?.[0]?.state?.running);
    const hi = await kubectl(['exec', 'shell', '--', 'echo', 'hi']);
    assert.equal(hi.code, 0, hi.stderr);
    assert.equal(hi.stdout, 'hi\n');
    const fail = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo oops >&2; exit 3']);
    assert.equal(fail.code, 3);
    assert.match(fail.stderr, /oops/);
    assert.match(fail.stderr, /command terminated with exit code 3/);
    const piped = await kubectl(['exec', '-i', 'shell', '--', 'cat'], 'through stdin\n');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'through stdin\n');
    await client.delete(PODS, 'default', 'shell');
  });

  test('kubectl exec -- env: Service variables as Kubernetes names them; enableServiceLinks: false keeps only kubernetes\'; $(VAR) in args', async () => {
    const kubeconfig = path.join(rootDir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
    const SVCS = { group: '', resource: 'services' };
    await client.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { ports: [{ port: 5432 }] } });
    await client.create(SVCS, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'front-end' }, spec: { ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] } });
    const shell = (name: string, links: boolean) => client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, enableServiceLinks: links,
        containers: [{ name: 'sh', image: 'kubemu/busybox:1', command: ['sh', '-c', 'echo "$1"; sleep 3600', '--'], args: ['greeting=$(GREETING)'], env: [{ name: 'GREETING', value: 'db at $(DB_SERVICE_HOST)' }] }] },
    });
    await shell('links', true);
    await shell('nolinks', false);
    for (const p of ['links', 'nolinks']) await until(`${p} running`, async () => (await client.get(PODS, 'default', p)).status?.containerStatuses?.[0]?.state?.running);
    // (async: the apiserver runs in this process)
    const kc = async (...args: string[]) => (await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', env: { ...process.env, HOME: rootDir } })).stdout;
    const envOf = async (pod: string) => (await kc('exec', pod, '--', 'env'))
      .trim().split('\n').map((l) => l.split('=')).reduce((m, [k, ...v]) => ({ ...m, [k!]: v.join('=') }), {} as Record<string, string>);
    const withLinks = await envOf('links');
    const db = await client.get(SVCS, 'default', 'db');
    const fe = await client.get(SVCS, 'default', 'front-end');
    const kube = await client.get(SVCS, 'default', 'kubernetes');
    const ip = (s: typeof db) => s.spec!.clusterIP as string;
    const want: Record<string, string> = {
      DB_SERVICE_HOST: ip(db), DB_SERVICE_PORT: '5432', DB_PORT: `tcp://${ip(db)}:5432`,
      DB_PORT_5432_TCP: `tcp://${ip(db)}:5432`, DB_PORT_5432_TCP_PROTO: 'tcp', DB_PORT_5432_TCP_PORT: '5432', DB_PORT_5432_TCP_ADDR: ip(db),
      FRONT_END_SERVICE_HOST: ip(fe), FRONT_END_SERVICE_PORT: '80', FRONT_END_SERVICE_PORT_HTTP: '80', FRONT_END_SERVICE_PORT_DNS: '53',
      FRONT_END_PORT: `tcp://${ip(fe)}:80`, FRONT_END_PORT_80_TCP: `tcp://${ip(fe)}:80`, FRONT_END_PORT_80_TCP_PROTO: 'tcp', FRONT_END_PORT_80_TCP_PORT: '80', FRONT_END_PORT_80_TCP_ADDR: ip(fe),
      FRONT_END_PORT_53_UDP: `udp://${ip(fe)}:53`, FRONT_END_PORT_53_UDP_PROTO: 'udp', FRONT_END_PORT_53_UDP_PORT: '53', FRONT_END_PORT_53_UDP_ADDR: ip(fe),
      KUBERNETES_SERVICE_HOST: ip(kube), KUBERNETES_SERVICE_PORT: String(kube.spec!.ports[0].port),
      GREETING: `db at ${ip(db)}`,
    };
    for (const [k, v] of Object.entries(want)) assert.equal(withLinks[k], v, k);
    const without = await envOf('nolinks');
    assert.equal(without.KUBERNETES_SERVICE_HOST, ip(kube));
    assert.deepEqual(Object.keys(without).filter((k) => /^(DB|FRONT_END)_/.test(k)), []);
    assert.equal(without.GREETING, 'db at $(DB_SERVICE_HOST)', 'an undefined reference is left as written');
    const logs = await until('args expanded', async () => (await kc('logs', 'links')).trim());
    assert.equal(logs, `greeting=db at ${ip(db)}`);
    for (const p of ['links', 'nolinks']) await client.delete(PODS, 'default', p);
    for (const s of ['db', 'front-end']) await client.delete(SVCS, 'default', s);
  });

  test('init containers: Init:0/1 while one runs, its file served by the app; a failing one is Init:CrashLoopBackOff; a sidecar pod meant to finish succeeds', async () => {
    const kubeconfig = path.join(rootDir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
    const kc = async (...args: string[]) => (await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', env: { ...process.env, HOME: rootDir } })).stdout;
    const statusColumn = async (name: string) => (await kc('get', 'pod', name, '--no-headers')).trim().split(/\s+/)[2];
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'init-web' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, volumes: [{ name: 'www', emptyDir: {} }],
        initContainers: [{ name: 'fetch', image: 'kubemu/busybox:1', command: ['sh', '-c', 'sleep 8; echo made by init > /www/index.html'], volumeMounts: [{ name: 'www', mountPath: '/www' }] }],
        containers: [{ name: 'web', image: 'kubemu/busybox:1', command: ['httpd', '-f', '-p', '8080', '-h', '/www'], volumeMounts: [{ name: 'www', mountPath: '/www' }] }] },
    });
    await until('Init:0/1', async () => (await statusColumn('init-web')) === 'Init:0/1');
    const during = await client.get(PODS, 'default', 'init-web');
    assert.equal(during.status?.phase, 'Pending');
    assert.equal(during.status?.conditions.find((c: any) => c.type === 'Initialized').status, 'False');
    assert.equal(during.status?.containerStatuses[0].state.waiting.reason, 'PodInitializing');
    const ready = await until('init-web Running', async () => {
      const p = await client.get(PODS, 'default', 'init-web');
      return p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready ? p : undefined;
    });
    assert.equal(ready.status.initContainerStatuses[0].state.terminated.exitCode, 0);
    assert.equal(ready.status.conditions.find((c: any) => c.type === 'Initialized').status, 'True');
    assert.equal((await until('served', async () => (await fetch(`http://${ready.status.podIP}:8080/index.html`, { signal: AbortSignal.timeout(2000) })).text())).trim(), 'made by init');
    assert.equal(await statusColumn('init-web'), 'Running');

    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'init-fails' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0,
        initContainers: [{ name: 'check', image: 'kubemu/busybox:1', command: ['sh', '-c', 'echo checking; exit 1'] }],
        containers: [{ name: 'app', image: 'kubemu/busybox:1', command: ['sleep', '3600'] }] },
    });
    await until('Init:CrashLoopBackOff', async () => (await statusColumn('init-fails')) === 'Init:CrashLoopBackOff', 60_000);
    const failing = await client.get(PODS, 'default', 'init-fails');
    assert.ok(failing.status?.initContainerStatuses[0].restartCount >= 1);
    assert.equal(failing.status?.containerStatuses[0].state.waiting.reason, 'PodInitializing', 'the app container never started');
    assert.match(await kc('logs', 'init-fails', '-c', 'check'), /checking/);

    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'with-sidecar' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, restartPolicy: 'Never',
        initContainers: [{ name: 'logger', image: 'kubemu/busybox:1', restartPolicy: 'Always', command: ['sleep', '3600'] }],
        containers: [{ name: 'job', image: 'kubemu/busybox:1', command: ['sh', '-c', 'sleep 1; echo done'] }] },
    });
    const done = await until('sidecar pod Succeeded', async () => {
      const p = await client.get(PODS, 'default', 'with-sidecar');
      return p.status?.phase === 'Succeeded' ? p : undefined;
    }, 60_000);
    assert.equal(done.status.containerStatuses[0].state.terminated.exitCode, 0);
    await until('the sidecar stopped', async () => (await client.get(PODS, 'default', 'with-sidecar')).status?.initContainerStatuses?.[0]?.state?.terminated);
    for (const p of ['init-web', 'init-fails', 'with-sidecar']) await client.delete(PODS, 'default', p);
  });

  test('volumes follow their sources: a downwardAPI file after kubectl label, a configMap file after kubectl edit, not a subPath mount; a missing ConfigMap is FailedMount', async () => {
    const kubeconfig = path.join(rootDir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
    // kubectl edit with an "editor" that turns blue into green in the file kubectl hands it.
    const editor = path.join(rootDir, 'edit-blue-to-green.sh');
    fs.writeFileSync(editor, '#!/bin/sh\nsed -i "s/: blue$/: green/" "$1"\n', { mode: 0o755 });
    const kc = async (...args: string[]) => (await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', env: { ...process.env, HOME: rootDir, KUBE_EDITOR: editor } })).stdout;
    const CMS = { group: '', resource: 'configmaps' };
    await client.create(CMS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config' }, data: { 'color.txt': 'blue' } });
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'vols', labels: { app: 'v1' } },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0,
        volumes: [{ name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }, { name: 'cfg', configMap: { name: 'web-config' } }],
        containers: [{ name: 'sh', image: 'kubemu/busybox:1', command: ['sleep', '3600'], volumeMounts: [
          { name: 'info', mountPath: '/etc/podinfo' }, { name: 'cfg', mountPath: '/etc/cfg' }, { name: 'cfg', mountPath: '/etc/pinned.txt', subPath: 'color.txt' }] }] },
    });
    await until('vols running', async () => (await client.get(PODS, 'default', 'vols')).status?.containerStatuses?.[0]?.state?.running);
    const cat = async (f: string) => (await kc('exec', 'vols', '--', 'cat', f)).trim();
    assert.equal(await cat('/etc/podinfo/labels'), 'app="v1"');
    assert.equal(await cat('/etc/cfg/color.txt'), 'blue');
    assert.equal(await cat('/etc/pinned.txt'), 'blue');
    await kc('label', 'pod', 'vols', 'app=v2', '--overwrite');
    await kc('edit', 'configmap', 'web-config');
    assert.equal(((await client.get(CMS, 'default', 'web-config')) as unknown as { data: Record<string, string> }).data['color.txt'], 'green', 'kubectl edit changed the ConfigMap');
    await until('the downwardAPI file follows the label', async () => (await cat('/etc/podinfo/labels')) === 'app="v2"', 60_000);
    await until('the configMap file follows the edit', async () => (await cat('/etc/cfg/color.txt')) === 'green', 60_000);
    assert.equal(await cat('/etc/pinned.txt'), 'blue', 'a subPath mount does not follow updates');

    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'no-config' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, volumes: [{ name: 'cfg', configMap: { name: 'absent' } }],
        containers: [{ name: 'sh', image: 'kubemu/busybox:1', command: ['sleep', '3600'], volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] }] },
    });
    await until('FailedMount event', async () => /FailedMount[\s\S]*MountVolume.SetUp failed for volume "cfg" : configmap "absent" not found/.test(await kc('describe', 'pod', 'no-config')), 60_000);
    assert.equal((await client.get(PODS, 'default', 'no-config')).status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ContainerCreating');
    await client.create(CMS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'absent' }, data: { x: '1' } });
    await until('starts once the ConfigMap exists', async () => (await client.get(PODS, 'default', 'no-config')).status?.containerStatuses?.[0]?.state?.running, 60_000);
    for (const p of ['vols', 'no-config']) await client.delete(PODS, 'default', p);
  });

  test('lifecycle hooks: preStop runs before SIGTERM on a graceful delete; a failing postStart kills the container (FailedPostStartHook)', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-hooks-'));
    fs.chmodSync(out, 0o777);
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hooks' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 10, volumes: [{ name: 'out', hostPath: { path: out } }],
        containers: [{ name: 'c', image: 'kubemu/busybox:1', volumeMounts: [{ name: 'out', mountPath: '/out' }],
          command: ['sh', '-c', 'trap "echo term >> /out/order; exit 0" TERM; echo started >> /out/order; while true; do sleep 0.2; done'],
          lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo poststart >> /out/order'] } }, preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /out/order'] } } } }] },
    });
    await until('hooks running', async () => (await client.get(PODS, 'default', 'hooks')).status?.containerStatuses?.[0]?.state?.running);
    await until('postStart ran', async () => fs.existsSync(path.join(out, 'order')) && fs.readFileSync(path.join(out, 'order'), 'utf8').includes('poststart'));
    await client.delete(PODS, 'default', 'hooks');
    await until('hooks gone', async () => !(await client.get(PODS, 'default', 'hooks').catch(() => undefined)));
    const order = fs.readFileSync(path.join(out, 'order'), 'utf8').trim().split('\n').filter((l) => l !== 'poststart');
    assert.deepEqual(order, ['started', 'prestop', 'term']);
    fs.rmSync(out, { recursive: true, force: true });

    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad-poststart' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0,
        containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'exit 7'] } } } }] },
    });
    const ev = await until('FailedPostStartHook', async () => (await client.list({ group: '', resource: 'events' }, 'default', { fieldSelector: 'involvedObject.name=bad-poststart' })).items
      .find((e: any) => e.reason === 'FailedPostStartHook'));
    assert.match((ev as any).message, /exited with 7/);
    await until('restarted', async () => ((await client.get(PODS, 'default', 'bad-poststart')).status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
    await client.delete(PODS, 'default', 'bad-poststart');
  });

  test('two containers share localhost and an emptyDir', async () => {
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'duo' },
      spec: {
        nodeName: NODE, terminationGracePeriodSeconds: 0,
        volumes: [{ name: 'shared', emptyDir: {} }],
        containers: [
          { name: 'web', image: 'kubemu/hello:1', env: [{ name: 'POD_NAME', value: 'duo-web' }], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] },
          { name: 'side', image: 'kubemu/busybox:1', volumeMounts: [{ name: 'shared', mountPath: '/data' }],
            command: ['sh', '-c', 'echo from-side > /data/note; while true; do wget -q -O /data/fetched http://127.0.0.1:8080/ && break; sleep 0.2; done; sleep 3600'] },
        ],
      },
    });
    const p = await until('both running', async () => {
      const cur = await client.get(PODS, 'default', 'duo');
      return cur.status?.containerStatuses?.every((c: any) => c.ready) ? cur : undefined;
    });
    const id = (name: string) => p.status.containerStatuses.find((c: any) => c.name === name).containerID.replace('docker://', '');
    const fetched = await until('side fetched web over localhost', async () => {
      const r = await cri.execSync(id('web'), ['cat', '/shared/fetched'], 5);
      return r.exitCode === 0 ? r.stdout.toString() : undefined;
    });
    assert.match(fetched, /duo-web/);
    assert.equal((await cri.execSync(id('web'), ['cat', '/shared/note'], 5)).stdout.toString().trim(), 'from-side');
    await client.delete(PODS, 'default', 'duo');
    await until('duo gone', async () => client.get(PODS, 'default', 'duo').then(() => false, (e) => e.code === 'NotFound'));
  });

  test('an image that is not there: ErrImagePull/ImagePullBackOff with the reason, no remote pull, nothing else disturbed', async () => {
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'noimage' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'registry.example.invalid/nope:1' }] },
    });
    const waiting = await until('image pull failure', async () => {
      const cur = await client.get(PODS, 'default', 'noimage');
      const w = cur.status?.containerStatuses?.[0]?.state?.waiting;
      return w && ['ErrImagePull', 'ImagePullBackOff'].includes(w.reason) ? w : undefined;
    });
    assert.match(waiting.message, /registry.example.invalid\/nope:1.*not present on the node/);
    assert.equal((await client.get(PODS, 'default', 'noimage')).status.phase, 'Pending');
    assert.equal((await client.get(NODES, undefined, NODE)).status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    await client.delete(PODS, 'default', 'noimage');
    await until('noimage gone', async () => client.get(PODS, 'default', 'noimage').then(() => false, (e) => e.code === 'NotFound'));
  });

  test('an invalid command and a probe on a closed port: each a clear reason in kubectl describe pod, nothing else disturbed', async () => {
    const kubeconfig = path.join(rootDir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
    const describe = async (pod: string) => (await run('kubectl', ['--kubeconfig', kubeconfig, 'describe', 'pod', pod], { encoding: 'utf8', env: { ...process.env, HOME: rootDir } })).stdout;
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'badcmd' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['/no/such/program'] }] },
    });
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'closedport' },
      spec: {
        nodeName: NODE, terminationGracePeriodSeconds: 0,
        containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'], livenessProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 2 } }],
      },
    });
    // The runtime cannot start the program: the container waits with the runtime's reason, and restarts with back-off.
    const bad = await until('badcmd failing to start', async () => {
      const out = await describe('badcmd');
      return /Reason:\s+(RunContainerError|CrashLoopBackOff|StartError|ContainerCannotRun)/.test(out) && /\/no\/such\/program/.test(out) ? out : undefined;
    }, 60_000);
    assert.match(bad, /no such file or directory/, bad);
    // The liveness probe dials a closed port: connection refused, and the container is restarted.
    const closed = await until('closedport restarted by its liveness probe', async () => {
      const out = await describe('closedport');
      return /Liveness probe failed: dial tcp [\d.]+:9999: .*(refused|ECONNREFUSED)/.test(out) && /Restart Count:\s+[1-9]/.test(out) ? out : undefined;
    }, 60_000);
    assert.match(closed, /Killing|Container c failed liveness probe/);
    // Nothing else disturbed: the node stays Ready and a healthy pod still starts.
    await client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'fine' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'] }] },
    });
    await until('fine running', async () => (await client.get(PODS, 'default', 'fine')).status?.containerStatuses?.[0]?.state?.running);
    assert.equal((await client.get(NODES, undefined, NODE)).status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    for (const name of ['badcmd', 'closedport', 'fine']) await client.delete(PODS, 'default', name);
    for (const name of ['badcmd', 'closedport', 'fine']) await until(`${name} gone`, async () => client.get(PODS, 'default', name).then(() => false, (e) => e.code === 'NotFound'));
  });
});
