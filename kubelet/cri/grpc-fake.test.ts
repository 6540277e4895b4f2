// The behaviour-level suite against the fake runtime, over the real gRPC unix socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeRuntime } from './fake/runtime.ts';
import { CriServer } from './server.ts';
import { CriClient, withCallLogging } from './client.ts';
import { CriError, LABELS } from './types.ts';
import { silentLogger } from '../../lib/logger.ts';

test('fake runtime over gRPC: lifecycle, labels, exec, logs, missing image', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kubemu-cri-'));
  const fake = new FakeRuntime();
  const server = new CriServer({ socketPath: join(dir, 'cri.sock'), runtime: fake, images: fake });
  await server.start();
  const client = new CriClient({ socketPath: join(dir, 'cri.sock') });
  t.after(async () => { client.close(); await server.stop(); await rm(dir, { recursive: true, force: true }); });
  const cri = withCallLogging(client, silentLogger());

  await assert.rejects(cri.pullImage('nowhere.example/missing:1'), (e: unknown) => e instanceof CriError && e.code === 'ImagePullFailed');
  assert.equal(await cri.imageStatus('kubemu/hello:1'), null);
  await cri.pullImage('kubemu/hello:1');
  assert.deepEqual((await cri.imageStatus('kubemu/hello:1'))?.repoTags, ['kubemu/hello:1']);

  const sbConfig = { metadata: { name: 'web', uid: 'u1', namespace: 'default', attempt: 0 }, labels: { [LABELS.podName]: 'web' } };
  const sb = await cri.runPodSandbox(sbConfig);
  const st = await cri.podSandboxStatus(sb);
  assert.equal(st.state, 'SANDBOX_READY');
  assert.equal(st.metadata.name, 'web');
  assert.ok(st.createdAtMs > 0);
  assert.match(st.ip, /^10\.244\./);

  const cid = await cri.createContainer(sb, { metadata: { name: 'app', attempt: 1 }, image: 'kubemu/hello:1',
    labels: { [LABELS.podName]: 'web', [LABELS.containerName]: 'app' } }, sbConfig);
  await cri.startContainer(cid);
  const running = await cri.containerStatus(cid);
  assert.equal(running.state, 'CONTAINER_RUNNING');
  assert.equal(running.metadata.attempt, 1);
  assert.deepEqual((await cri.listContainers({ labelSelector: { [LABELS.containerName]: 'app' } })).map((c) => c.id), [cid]);
  assert.deepEqual((await cri.listPodSandbox({ labelSelector: { [LABELS.podName]: 'web' } })).map((s) => s.id), [sb]);
  assert.equal((await cri.listPodSandbox({ labelSelector: { [LABELS.podName]: 'nope' } })).length, 0);

  const ex = await cri.execSync(cid, ['sh', '-c', 'exit 7']);
  assert.equal(ex.exitCode, 7);
  const chunks: string[] = [];
  for await (const ch of cri.containerLogs(cid)) chunks.push(ch.data.toString());
  assert.equal(chunks.join(''), 'app started\n');

  await assert.rejects(cri.containerStatus('nope'), (e: unknown) => e instanceof CriError && e.code === 'NotFound');
  await cri.stopContainer(cid, 2);
  assert.equal((await cri.containerStatus(cid)).state, 'CONTAINER_EXITED');
  await cri.removeContainer(cid);
  await cri.stopPodSandbox(sb);
  await cri.removePodSandbox(sb);
  assert.equal((await cri.listPodSandbox()).length, 0);
});
