import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeRuntime } from './runtime.ts';
import { CriError, LABELS } from '../types.ts';

const sandboxConfig = {
  metadata: { name: 'web', uid: 'u1', namespace: 'default', attempt: 0 },
  labels: { [LABELS.podName]: 'web', [LABELS.node]: 'n1' },
};

test('fake: sandbox + container lifecycle, labels, exec, logs, stop/remove', async () => {
  const rt = new FakeRuntime();
  const sb = await rt.runPodSandbox(sandboxConfig);
  const st = await rt.podSandboxStatus(sb);
  assert.equal(st.state, 'SANDBOX_READY');
  assert.match(st.ip, /^10\.244\.\d+\.\d+$/);
  await assert.rejects(rt.createContainer(sb, { metadata: { name: 'app', attempt: 0 }, image: 'kubemu/hello:1' }, sandboxConfig),
    (e: unknown) => e instanceof CriError && e.code === 'NotFound');
  await rt.pullImage('kubemu/hello:1');
  const cid = await rt.createContainer(sb, { metadata: { name: 'app', attempt: 0 }, image: 'kubemu/hello:1',
    labels: { [LABELS.podName]: 'web', [LABELS.containerName]: 'app' } }, sandboxConfig);
  await rt.startContainer(cid);
  assert.equal((await rt.containerStatus(cid)).state, 'CONTAINER_RUNNING');
  assert.deepEqual((await rt.listContainers({ labelSelector: { [LABELS.podName]: 'web' } })).map((c) => c.id), [cid]);
  assert.equal((await rt.listContainers({ labelSelector: { [LABELS.podName]: 'other' } })).length, 0);
  assert.equal((await rt.execSync(cid, ['sh', '-c', 'exit 3'])).exitCode, 3);
  assert.equal((await rt.execSync(cid, ['echo', 'hi'])).stdout.toString(), 'hi\n');
  const logs: string[] = [];
  for await (const ch of rt.containerLogs(cid)) logs.push(ch.data.toString());
  assert.deepEqual(logs, ['app started\n']);
  await rt.stopContainer(cid, 1);
  const done = await rt.containerStatus(cid);
  assert.equal(done.state, 'CONTAINER_EXITED');
  assert.equal(done.exitCode, 143);
  await rt.removeContainer(cid);
  await rt.stopPodSandbox(sb);
  await rt.removePodSandbox(sb);
  assert.equal((await rt.listPodSandbox()).length, 0);
});

test('fake: container exits with the code its env asks for; missing image fails pull', async () => {
  const rt = new FakeRuntime();
  await assert.rejects(rt.pullImage('example.com/missing:1'), (e: unknown) => e instanceof CriError && e.code === 'ImagePullFailed');
  await rt.pullImage('kubemu/busybox:1');
  const sb = await rt.runPodSandbox(sandboxConfig);
  const cid = await rt.createContainer(sb, { metadata: { name: 'job', attempt: 0 }, image: 'kubemu/busybox:1',
    envs: [{ key: 'KUBEMU_FAKE_EXIT_AFTER_MS', value: '5' }, { key: 'KUBEMU_FAKE_EXIT_CODE', value: '2' }] }, sandboxConfig);
  await rt.startContainer(cid);
  await new Promise((r) => setTimeout(r, 30));
  const st = await rt.containerStatus(cid);
  assert.equal(st.state, 'CONTAINER_EXITED');
  assert.equal(st.exitCode, 2);
  assert.equal(st.reason, 'Error');
  await rt.removePodSandbox(sb);
});

test('fake: pod IPs come from the pod CIDR, never twice among live sandboxes, and are released with the sandbox', async () => {
  const rt = new FakeRuntime({ podCIDR: '10.244.7.0/29' }); // .2 … .6 usable here
  const cfg = (i: number) => ({ ...sandboxConfig, metadata: { ...sandboxConfig.metadata, uid: `u${i}`, name: `p${i}` } });
  const ids: string[] = [];
  const ips = new Set<string>();
  for (let i = 0; i < 5; i++) {
    ids.push(await rt.runPodSandbox(cfg(i)));
    ips.add((await rt.podSandboxStatus(ids[i])).ip);
  }
  assert.deepEqual([...ips].sort(), ['10.244.7.2', '10.244.7.3', '10.244.7.4', '10.244.7.5', '10.244.7.6']);
  await assert.rejects(rt.runPodSandbox(cfg(9)), /no IP addresses left in pod CIDR 10.244.7.0\/29/);
  const freed = (await rt.podSandboxStatus(ids[1])).ip;
  await rt.removePodSandbox(ids[1]);
  assert.equal((await rt.podSandboxStatus(await rt.runPodSandbox(cfg(10)))).ip, freed);
  assert.throws(() => new FakeRuntime({ podCIDR: 'nope' }), /podCIDR must be an IPv4 CIDR/);
});

test('fake: every image pulls, after the configured delay; only images matching --fake-fail-images fail', async () => {
  const rt = new FakeRuntime({ pullDelayMs: 150, failImages: ['registry.example/broken:*', '*missing*'] });
  assert.equal(await rt.imageStatus('nginx:1.27'), null);
  const t0 = Date.now();
  await rt.pullImage('nginx:1.27');
  assert.ok(Date.now() - t0 >= 140, 'the pull took the delay');
  assert.ok(await rt.imageStatus('nginx:1.27'));
  for (const bad of ['registry.example/broken:2', 'app-missing:1']) {
    await assert.rejects(rt.pullImage(bad), (e: unknown) => e instanceof CriError && e.code === 'ImagePullFailed' && /pull access denied/.test(e.message));
  }
  await rt.pullImage('registry.example/broken'); // no tag: not matched by broken:*
  const none = new FakeRuntime({ failImages: [] });
  await none.pullImage('something-missing:1');
});
