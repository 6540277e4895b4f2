// Real Docker over the gRPC unix socket. Needs scripts/build-images.sh (kubemu/busybox:1, kubemu/hello:1); never pulls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DockerRuntime, imageUser } from './runtime.ts';
import { DockerEngine } from './engine.ts';
import { CriServer } from '../server.ts';
import { CriClient } from '../client.ts';
import { CriError, LABELS } from '../types.ts';

/** A Docker runtime served over a CRI socket in a temp dir, on its own network; everything removed after the test. */
async function criOverDocker(t: { after(fn: () => Promise<void>): void }, nodeName: string, network: string) {
  execFileSync(join(import.meta.dirname, '../../../scripts/build-images.sh'), { stdio: 'ignore' });
  const dir = await mkdtemp(join(tmpdir(), 'kubemu-cri-'));
  const docker = new DockerRuntime({ nodeName, network });
  const server = new CriServer({ socketPath: join(dir, 'cri.sock'), runtime: docker, images: docker });
  await server.start();
  const cri = new CriClient({ socketPath: join(dir, 'cri.sock') });
  const engine = new DockerEngine();
  t.after(async () => {
    for (const s of await docker.listPodSandbox()) await docker.removePodSandbox(s.id);
    await engine.json('DELETE', `/networks/${network}`, undefined, [404]);
    cri.close(); await server.stop(); await docker.close(); await engine.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { docker, cri, engine };
}

test('docker runtime over gRPC: pod on the network, shared netns, labels, exec, logs, limits, missing image', async (t) => {
  const network = `kubemu-test-${process.pid}`;
  const nodeName = `test-node-${process.pid}`;
  const { docker, cri, engine } = await criOverDocker(t, nodeName, network);

  await assert.rejects(cri.pullImage('127.0.0.1:1/missing:1'), (e: unknown) => e instanceof CriError && e.code === 'ImagePullFailed');
  await cri.pullImage('kubemu/hello:1'); // present: no registry traffic

  const sbConfig = { metadata: { name: 'web', uid: `uid-${process.pid}`, namespace: 'default', attempt: 0 }, hostname: 'web' };
  const sb = await cri.runPodSandbox(sbConfig);
  const st = await cri.podSandboxStatus(sb);
  assert.equal(st.state, 'SANDBOX_READY');
  assert.match(st.ip, /^\d+\.\d+\.\d+\.\d+$/);

  const cid = await cri.createContainer(sb, { metadata: { name: 'app', attempt: 0 }, image: 'kubemu/hello:1',
    envs: [{ key: 'POD_NAME', value: 'web' }], resources: { memoryLimitInBytes: 64 << 20, cpuShares: 512 } }, sbConfig);
  await cri.startContainer(cid);
  // Reachable on the sandbox IP from the host: the app shares the sandbox's network namespace.
  let body = '';
  for (const end = Date.now() + 30_000; !body && Date.now() < end;) {
    body = await fetch(`http://${st.ip}:8080/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => '');
    if (!body) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(body.trim(), 'web');

  const inspect = await engine.json('GET', `/containers/${cid}/json`);
  assert.equal(inspect.HostConfig.Memory, 64 << 20);
  assert.equal(inspect.HostConfig.CpuShares, 512);
  assert.equal(inspect.HostConfig.NetworkMode, `container:${sb}`);
  assert.equal(inspect.Config.Labels[LABELS.podName], 'web');
  assert.equal(inspect.Config.Labels[LABELS.containerName], 'app');
  assert.equal(inspect.Config.Labels[LABELS.node], nodeName);

  assert.deepEqual((await cri.listContainers({ labelSelector: { [LABELS.podName]: 'web' } })).map((c) => c.id), [cid]);
  assert.equal((await cri.execSync(cid, ['sh', '-c', 'echo hi; exit 3'])).exitCode, 3);
  assert.equal((await cri.execSync(cid, ['echo', 'hi'])).stdout.toString(), 'hi\n');

  await cri.execSync(cid, ['sh', '-c', 'echo logged > /proc/1/fd/1']);
  // Docker writes the container's output to its log asynchronously: read until the line is there.
  let logs = '';
  for (const end = Date.now() + 30_000; !/logged/.test(logs) && Date.now() < end;) {
    logs = '';
    for await (const ch of cri.containerLogs(cid)) logs += ch.data.toString();
    if (!/logged/.test(logs)) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(logs, /logged/);

  // Streaming exec with stdin (in-process API, not over gRPC).
  const es = await docker.execStream(cid, ['sh', '-c', 'read x; echo got:$x; exit 4']);
  es.stdin.end('hello\n');
  let streamed = '';
  for await (const ch of es.output) streamed += ch.data.toString();
  assert.equal(streamed, 'got:hello\n');
  assert.equal(await es.exitCode, 4);

  await cri.stopContainer(cid, 5);
  const done = await cri.containerStatus(cid);
  assert.equal(done.state, 'CONTAINER_EXITED');
  await cri.removeContainer(cid);
  await cri.stopPodSandbox(sb);
  await cri.removePodSandbox(sb);
  assert.equal((await cri.listPodSandbox()).length, 0);
});

test('an image\'s USER as CRI reports it: a uid, a name, or nothing (root)', () => {
  assert.deepEqual(imageUser('1000:1000'), { uid: { value: 1000 } });
  assert.deepEqual(imageUser('0'), { uid: { value: 0 } });
  assert.deepEqual(imageUser('nginx'), { username: 'nginx' });
  assert.deepEqual(imageUser(''), {});
});

test('docker runtime over gRPC: a container\'s security context and the sandbox\'s namespaces and sysctls become Docker\'s options', async (t) => {
  const network = `kubemu-test-sec-${process.pid}`;
  const { cri, engine } = await criOverDocker(t, `test-sec-${process.pid}`, network);
  const image = await cri.imageStatus('kubemu/busybox:1');
  assert.equal(image?.uid, null); // no USER: root, as the kubelet reads it
  assert.equal(image?.username, '');

  const ns = { network: 'POD', pid: 'POD', ipc: 'POD' } as const;
  const sbConfig = { metadata: { name: 'sec', uid: `uid-sec-${process.pid}`, namespace: 'default', attempt: 0 }, hostname: 'sec',
    linux: { securityContext: { namespaceOptions: ns }, sysctls: { 'net.ipv4.ip_local_port_range': '20000 30000' } } };
  const sb = await cri.runPodSandbox(sbConfig);
  const cid = await cri.createContainer(sb, { metadata: { name: 'app', attempt: 0 }, image: 'kubemu/busybox:1', command: ['sleep', '3600'],
    linux: { securityContext: { runAsUser: { value: 1000 }, runAsGroup: { value: 3000 }, supplementalGroups: [2000], readonlyRootfs: true, noNewPrivs: true,
      capabilities: { addCapabilities: ['NET_BIND_SERVICE'], dropCapabilities: ['ALL'] }, namespaceOptions: ns, maskedPaths: [], readonlyPaths: [] } } }, sbConfig);
  await cri.startContainer(cid);
  const i = await engine.json('GET', `/containers/${cid}/json`);
  assert.equal(i.Config.User, '1000:3000');
  assert.deepEqual(i.HostConfig.GroupAdd, ['2000']);
  assert.equal(i.HostConfig.ReadonlyRootfs, true);
  assert.deepEqual(i.HostConfig.SecurityOpt, ['no-new-privileges']);
  assert.equal(i.HostConfig.IpcMode, `container:${sb}`);
  assert.equal(i.HostConfig.PidMode, `container:${sb}`);
  const run = async (cmd: string) => (await cri.execSync(cid, ['sh', '-c', cmd])).stdout.toString();
  assert.equal(await run('id'), 'uid=1000 gid=3000 groups=2000,3000\n');
  assert.match(await run('grep -E "CapEff|NoNewPrivs" /proc/self/status'), /NoNewPrivs:\s+1/);
  assert.match(await run('touch /x 2>&1'), /Read-only file system/);
  assert.equal(await run('cat /proc/sys/net/ipv4/ip_local_port_range'), '20000\t30000\n');
  assert.match(await run('ps'), /\/bin\/pause/); // the pod's PID namespace: the sandbox's pause is there
  // Privileged is asked of Docker (created only: an engine lacking capabilities itself refuses to start it).
  const priv = await cri.createContainer(sb, { metadata: { name: 'priv', attempt: 0 }, image: 'kubemu/busybox:1', command: ['true'],
    linux: { securityContext: { privileged: true, namespaceOptions: ns, maskedPaths: ['/proc/kcore'], readonlyPaths: [] } } }, sbConfig);
  const pi = await engine.json('GET', `/containers/${priv}/json`);
  assert.equal(pi.HostConfig.Privileged, true);
  assert.equal(pi.Config.User, '');
  await cri.removeContainer(priv);

  // A sandbox on the node's network: Docker's host mode, no address of its own.
  const hostConfig = { metadata: { name: 'hostnet', uid: `uid-hostnet-${process.pid}`, namespace: 'default', attempt: 0 }, hostname: '',
    linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'NODE' } } } } as const;
  const hsb = await cri.runPodSandbox(hostConfig as any);
  const hi = await engine.json('GET', `/containers/${hsb}/json`);
  assert.equal(hi.HostConfig.NetworkMode, 'host');
  assert.equal(hi.HostConfig.IpcMode, 'host');
  assert.equal((await cri.podSandboxStatus(hsb)).ip, '');
});

test('the first pods of a node, started at once, share one pod network (no duplicate to make their start "ambiguous")', async (t) => {
  const network = `kubemu-test-race-${process.pid}`;
  const { cri, engine } = await criOverDocker(t, `test-race-${process.pid}`, network);
  const ids = await Promise.all([0, 1, 2].map((i) => cri.runPodSandbox({ metadata: { name: `p${i}`, uid: `uid-race-${process.pid}-${i}`, namespace: 'default', attempt: 0 }, hostname: `p${i}` })));
  for (const id of ids) assert.equal((await cri.podSandboxStatus(id)).state, 'SANDBOX_READY');
  const nets: Array<{ Name: string }> = await engine.json('GET', `/networks?filters=${encodeURIComponent(JSON.stringify({ name: [network] }))}`);
  assert.equal(nets.filter((n) => n.Name === network).length, 1);
});
