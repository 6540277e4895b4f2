// Real Docker over the gRPC unix socket. Needs scripts/build-images.sh (kubemu/busybox:1, kubemu/hello:1); never pulls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DockerRuntime } from './runtime.ts';
import { DockerEngine } from './engine.ts';
import { CriServer } from '../server.ts';
import { CriClient } from '../client.ts';
import { CriError, LABELS } from '../types.ts';

test('docker runtime over gRPC: pod on the network, shared netns, labels, exec, logs, limits, missing image', async (t) => {
  execFileSync(join(import.meta.dirname, '../../../scripts/build-images.sh'), { stdio: 'ignore' });
  const dir = await mkdtemp(join(tmpdir(), 'kubemu-cri-'));
  const network = `kubemu-test-${process.pid}`;
  const nodeName = `test-node-${process.pid}`;
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
