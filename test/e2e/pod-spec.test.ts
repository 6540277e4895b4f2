// The rest of the Pod spec with the real kubectl and Docker: termination messages, activeDeadlineSeconds, readiness
// gates, a probe's own grace period, memory-backed and size-limited emptyDirs — and the bad input the issue lists:
// an init container that never exits, a hostPath of the wrong type, a missing configMap key with and without
// optional, and a $(UNDEFINED) reference.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockerKubelet, run, until, type DockerKubelet } from '../harness/docker-kubelet.ts';

const PODS = { group: '', resource: 'pods' };
type Obj = Record<string, any>;

describe('the Pod spec on the Docker runtime', () => {
  let k: DockerKubelet;
  const pod = (name: string, spec: Obj, metadata: Obj = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', ...metadata },
    spec: { nodeName: k.node, terminationGracePeriodSeconds: 1, ...spec } });
  const create = (obj: Obj) => k.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const get = (name: string) => k.client.get(PODS, 'default', name);
  const status = (name: string, pred: (p: Obj) => unknown, ms = 40_000, what = name) =>
    until(what, async () => { const p = await get(name); return pred(p) ? p : undefined; }, ms);
  const events = async (name: string) => JSON.parse(await k.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'json'])).items as Obj[];

  const cleanups: Array<() => unknown> = [];
  before(async () => { k = await dockerKubelet({ after: (fn) => cleanups.push(fn) }, { name: 'podspec' }); });
  after(async () => { for (const fn of cleanups) await fn(); });

  test('terminationMessagePath and FallbackToLogsOnError become the terminated state\'s message', async () => {
    await create(pod('term-msg', { restartPolicy: 'Never', containers: [
      { name: 'file', image: 'kubemu/busybox:1', command: ['sh', '-c', 'echo "disk full" > /dev/termination-log; exit 3'] },
      { name: 'custom', image: 'kubemu/busybox:1', terminationMessagePath: '/tmp/why', command: ['sh', '-c', 'printf done > /tmp/why'] },
      { name: 'logs', image: 'kubemu/busybox:1', terminationMessagePolicy: 'FallbackToLogsOnError', command: ['sh', '-c', 'echo last words; exit 2'] },
      { name: 'nolog', image: 'kubemu/busybox:1', command: ['sh', '-c', 'echo not a message; exit 2'] },
    ] }));
    const p = await status('term-msg', (x) => x.status?.phase === 'Failed');
    const term = (n: string) => p.status.containerStatuses.find((c: Obj) => c.name === n).state.terminated;
    assert.equal(term('file').message, 'disk full\n');
    assert.equal(term('file').exitCode, 3);
    assert.equal(term('custom').message, 'done');
    assert.equal(term('logs').message, 'last words\n');
    assert.equal(term('nolog').message, undefined);
    assert.match(await k.kubectl(['describe', 'pod', 'term-msg']), /Message:\s+disk full/);
  });

  test('activeDeadlineSeconds: the pod is stopped and Failed with reason DeadlineExceeded', async () => {
    await create(pod('deadline', { activeDeadlineSeconds: 3, containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'] }] }));
    await status('deadline', (x) => x.status?.phase === 'Running');
    const p = await status('deadline', (x) => x.status?.phase === 'Failed', 30_000);
    assert.equal(p.status.reason, 'DeadlineExceeded');
    assert.equal(p.status.message, 'Pod was active on the node longer than the specified deadline');
    assert.ok(p.status.containerStatuses[0].state.terminated, JSON.stringify(p.status.containerStatuses[0].state));
    assert.match(await k.kubectl(['describe', 'pod', 'deadline']), /Reason:\s+DeadlineExceeded/);
    assert.ok((await events('deadline')).some((e) => e.reason === 'DeadlineExceeded' && e.type === 'Normal'));
    assert.deepEqual((await k.dockerIds('io.kubernetes.pod.name=deadline')).length > 0, true); // stopped, kept for logs
    await until('containers stopped', async () => {
      const running = (await k.docker.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': p.metadata.uid! } })).filter((c) => c.state === 'CONTAINER_RUNNING');
      return running.length === 0;
    });
  });

  test('readiness gates: Ready waits for the gate\'s condition, which the kubelet keeps', async () => {
    await create(pod('gated', { readinessGates: [{ conditionType: 'example.com/lb-ready' }], containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'] }] }));
    const p = await status('gated', (x) => x.status?.conditions?.find((c: Obj) => c.type === 'ContainersReady')?.status === 'True');
    const ready = p.status.conditions.find((c: Obj) => c.type === 'Ready');
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'ReadinessGatesNotReady');
    assert.equal(ready.message, 'corresponding condition of pod readiness gate "example.com/lb-ready" does not exist.');
    // kubectl's READY counts ready containers; READINESS GATES the gates that are True.
    assert.match(await k.kubectl(['get', 'pod', 'gated', '-o', 'wide']), /gated\s+1\/1\s+Running[\s\S]*0\/1\s*$/m);
    const setGate = (s: string) => k.kubectl(['patch', 'pod', 'gated', '--subresource=status', '--type=strategic', '-p',
      JSON.stringify({ status: { conditions: [{ type: 'example.com/lb-ready', status: s }] } })]);
    await setGate('False');
    await status('gated', (x) => x.status.conditions.find((c: Obj) => c.type === 'Ready')?.message === 'the status of pod readiness gate "example.com/lb-ready" is not "True", but False');
    await setGate('True');
    const done = await status('gated', (x) => x.status.conditions.find((c: Obj) => c.type === 'Ready')?.status === 'True');
    assert.equal(done.status.conditions.find((c: Obj) => c.type === 'example.com/lb-ready')?.status, 'True');
    await new Promise((r) => setTimeout(r, 1500)); // several kubelet syncs: the gate's condition stays
    assert.equal((await get('gated')).status.conditions.find((c: Obj) => c.type === 'example.com/lb-ready')?.status, 'True');
  });

  test('a failing liveness probe kills with the probe\'s own terminationGracePeriodSeconds', async () => {
    // The container ignores SIGTERM; the pod's grace period is 120 s, the probe's 1 s: the restart comes within seconds.
    await create(pod('probe-grace', { terminationGracePeriodSeconds: 120, containers: [{ name: 'c', image: 'kubemu/busybox:1',
      command: ['sh', '-c', 'trap "" TERM; while true; do sleep 1; done'],
      livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1, terminationGracePeriodSeconds: 1 } }] }));
    const p = await status('probe-grace', (x) => x.status?.containerStatuses?.[0]?.restartCount >= 1, 25_000, 'a restart well within the pod\'s 120 s grace');
    assert.equal(p.status.containerStatuses[0].lastState.terminated.exitCode, 137);
  });

  test('emptyDir medium Memory is a tmpfs of its sizeLimit, shared by the containers and kept across a restart', async () => {
    await create(pod('mem', { volumes: [{ name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '2Mi' } }], containers: [
      { name: 'a', image: 'kubemu/busybox:1', command: ['sleep', '3600'], volumeMounts: [{ name: 'cache', mountPath: '/cache' }] },
      { name: 'b', image: 'kubemu/busybox:1', command: ['sleep', '3600'], volumeMounts: [{ name: 'cache', mountPath: '/data' }] },
    ] }));
    await status('mem', (x) => x.status?.phase === 'Running' && x.status.containerStatuses.every((c: Obj) => c.ready), 40_000, 'mem running');
    const mounts = await k.kubectl(['exec', 'mem', '-c', 'a', '--', 'cat', '/proc/mounts']);
    assert.match(mounts, /^tmpfs \/cache tmpfs [^ ]*size=2048k/m);
    await k.kubectl(['exec', 'mem', '-c', 'a', '--', 'sh', '-c', 'echo shared > /cache/f']);
    assert.equal(await k.kubectl(['exec', 'mem', '-c', 'b', '--', 'cat', '/data/f']), 'shared\n');
    const full = await k.kubectl(['exec', 'mem', '-c', 'a', '--', 'sh', '-c', 'dd if=/dev/zero of=/cache/big bs=1024 count=4096 2>&1; echo rc=$?']);
    assert.match(full, /No space left on device[\s\S]*rc=1/);
    // Every container restarted: the tmpfs (held by the sandbox) keeps the data.
    const ids = (await get('mem')).status.containerStatuses.map((c: Obj) => String(c.containerID).replace('docker://', ''));
    await run('docker', ['kill', ...ids]);
    await status('mem', (x) => x.status.containerStatuses.every((c: Obj) => c.restartCount >= 1 && c.ready), 40_000, 'both containers restarted');
    assert.equal(await k.kubectl(['exec', 'mem', '-c', 'a', '--', 'cat', '/cache/f']), 'shared\n');
    const uid = (await get('mem')).metadata.uid;
    await k.kubectl(['delete', 'pod', 'mem', '--wait=true']);
    await until('the tmpfs volume removed with the pod', async () => {
      const { stdout } = await run('docker', ['volume', 'ls', '-q', '--filter', `label=io.kubernetes.pod.uid=${uid!}`]);
      return stdout.trim() === '';
    });
  });

  test('a disk emptyDir over its sizeLimit gets the pod evicted with Kubernetes\' message', async () => {
    await create(pod('greedy', { volumes: [{ name: 'scratch', emptyDir: { sizeLimit: '1Mi' } }], containers: [{ name: 'c', image: 'kubemu/busybox:1',
      command: ['sh', '-c', 'dd if=/dev/zero of=/scratch/big bs=1024 count=3072; sleep 3600'], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }] }));
    const p = await status('greedy', (x) => x.status?.phase === 'Failed', 40_000);
    assert.equal(p.status.reason, 'Evicted');
    assert.equal(p.status.message, 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". ');
    assert.equal(p.status.conditions.find((c: Obj) => c.type === 'DisruptionTarget')?.reason, 'TerminationByKubelet');
    assert.ok((await events('greedy')).some((e) => e.reason === 'Evicted' && e.type === 'Warning'));
  });

  test('bad input: an init container that never exits, a hostPath of the wrong type, a missing key with and without optional, $(UNDEFINED)', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-hp-')), 'a-file');
    fs.writeFileSync(file, 'x');
    await k.kubectl(['create', 'configmap', 'some-keys', '--from-literal=present=yes']);
    await create(pod('stuck-init', { initContainers: [{ name: 'forever', image: 'kubemu/busybox:1', command: ['sleep', '3600'] }],
      containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'] }] }));
    await create(pod('wrong-hostpath', { volumes: [{ name: 'h', hostPath: { path: file, type: 'Directory' } }],
      containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'], volumeMounts: [{ name: 'h', mountPath: '/h' }] }] }));
    await create(pod('missing-key', { volumes: [{ name: 'v', configMap: { name: 'some-keys', items: [{ key: 'absent', path: 'a' }] } }],
      containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'], volumeMounts: [{ name: 'v', mountPath: '/v' }] }] }));
    await create(pod('missing-key-ok', { volumes: [{ name: 'v', configMap: { name: 'some-keys', optional: true, items: [{ key: 'absent', path: 'a' }, { key: 'present', path: 'p' }] } }],
      containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'], volumeMounts: [{ name: 'v', mountPath: '/v' }],
        env: [{ name: 'FROM_KEY', valueFrom: { configMapKeyRef: { name: 'some-keys', key: 'absent', optional: true } } }] }] }));
    await create(pod('missing-env-key', { containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'],
      env: [{ name: 'FROM_KEY', valueFrom: { configMapKeyRef: { name: 'some-keys', key: 'absent' } } }] }] }));
    await create(pod('undefined-ref', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'kubemu/busybox:1',
      command: ['echo', '[$(UNDEFINED)]', '[$(GREETING)]', '[$$(GREETING)]'], env: [{ name: 'GREETING', value: 'hi $(ALSO_UNDEFINED)' }] }] }));

    await until('stuck-init shows Init:0/1 and its app container waits', async () => /stuck-init\s+0\/1\s+Init:0\/1/.test(await k.kubectl(['get', 'pod', 'stuck-init'])));
    const stuck = await get('stuck-init');
    assert.equal(stuck.status.phase, 'Pending');
    assert.equal(stuck.status.containerStatuses[0].state.waiting.reason, 'PodInitializing');
    assert.equal(stuck.status.conditions.find((c: Obj) => c.type === 'Initialized').status, 'False');

    await until('wrong-hostpath FailedMount', async () => /FailedMount[\s\S]*MountVolume\.SetUp failed for volume "h" : hostPath type check failed: \S+a-file is not a directory/.test(await k.kubectl(['describe', 'pod', 'wrong-hostpath'])));
    assert.equal((await get('wrong-hostpath')).status.containerStatuses[0].state.waiting.reason, 'ContainerCreating');
    await until('missing-key FailedMount', async () => /MountVolume\.SetUp failed for volume "v" : configmap references non-existent config key: absent/.test(await k.kubectl(['describe', 'pod', 'missing-key'])));
    await status('missing-key-ok', (x) => x.status?.phase === 'Running');
    assert.equal(await k.kubectl(['exec', 'missing-key-ok', '--', 'sh', '-c', 'ls /v; echo "[${FROM_KEY-unset}]"']), 'p\n[unset]\n');
    const envErr = await status('missing-env-key', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
    assert.equal(envErr.status.containerStatuses[0].state.waiting.message, 'couldn\'t find key absent in ConfigMap default/some-keys');
    await status('undefined-ref', (x) => x.status?.phase === 'Succeeded');
    assert.equal(await k.kubectl(['logs', 'undefined-ref']), '[$(UNDEFINED)] [hi $(ALSO_UNDEFINED)] [$(GREETING)]\n'); // no shell: echo prints its arguments

    // Nothing else stuck: a plain pod created after all of these runs.
    await create(pod('after-bad', { containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sleep', '3600'] }] }));
    await status('after-bad', (x) => x.status?.phase === 'Running');
    assert.equal((await get('stuck-init')).status.phase, 'Pending');
  });
});
