// kubectl's pod commands with the real kubectl 1.27 (SPDY), 1.32 and 1.33 (WebSocket v5.channel.k8s.io) and Docker:
// attach -i and -t, cp both ways (tar over exec), debug -it --image --target (an ephemeral container in the target's
// PID namespace), the pods/ephemeralcontainers rules, exec -it with a terminal and its size, and the logs flags.
// A terminal comes from `script` (util-linux): kubectl then sees a TTY, puts it in raw mode and sends its size.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dockerKubelet, kubectlVersion, run, until, type DockerKubelet } from '../harness/docker-kubelet.ts';

const PODS = { group: '', resource: 'pods' };
const IMAGE = 'kubemu/busybox:1';
type Obj = Record<string, any>;
const VERSIONS = [27, 32, 33];
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('kubectl pod commands on the Docker runtime (kubectl 1.27, 1.32, 1.33)', () => {
  let k: DockerKubelet;
  const bins = new Map<number, string>();
  const pod = (name: string, spec: Obj, metadata: Obj = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', ...metadata },
    spec: { nodeName: k.node, terminationGracePeriodSeconds: 0, ...spec } });
  const create = (obj: Obj) => k.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const status = (name: string, pred: (p: Obj) => unknown, ms = 40_000) =>
    until(name, async () => { const p = await k.client.get(PODS, 'default', name); return pred(p) ? p : undefined; }, ms);
  const running = (name: string) => status(name, (p) => p.status?.phase === 'Running' && p.status.containerStatuses?.every((c: Obj) => c.state?.running));
  /** kubectl in a terminal (`script`), `stty` giving the terminal's size first; `feed` is a shell pipeline for its input. */
  const inTerminal = async (bin: string, args: string, opts: { feed?: string; rows?: number; cols?: number } = {}) => {
    const cmd = `stty rows ${opts.rows ?? 24} cols ${opts.cols ?? 80}; ${bin} --kubeconfig ${k.kubeconfig} ${args}`;
    const { stdout } = await run('bash', ['-c', `${opts.feed ?? 'true'} | script -qfec ${shq(cmd)} /dev/null`],
      { env: { ...process.env, HOME: k.rootDir }, timeout: 60_000, encoding: 'utf8' });
    return stdout;
  };
  const api = async (method: string, p: string, body?: unknown, type = 'application/strategic-merge-patch+json') => {
    const res = await fetch(`${k.api.url}${p}`, { method, headers: { 'content-type': type }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { code: res.status, body: await res.json() as Obj };
  };

  const cleanups: Array<() => unknown> = [];
  before(async () => {
    k = await dockerKubelet({ after: (fn) => cleanups.push(fn) }, { name: 'kcmd' });
    for (const v of VERSIONS) bins.set(v, kubectlVersion(v));
  });
  after(async () => { for (const fn of cleanups) await fn(); });

  test('attach -i writes to a stdin container and reads its output; stdinOnce closes stdin when kubectl is done', async () => {
    for (const v of VERSIONS) {
      const name = `attach-${v}`;
      await create(pod(name, { restartPolicy: 'Never', containers: [{ name: 'c', image: IMAGE, stdin: true, stdinOnce: true,
        command: ['sh', '-c', 'while read l; do echo got:$l; done; echo bye'] }] }));
      await running(name);
      const out = await k.kubectl(['attach', name, '-c', 'c', '-i'], { bin: bins.get(v), input: 'hello\nworld\n' });
      assert.match(out, /got:hello\ngot:world\nbye/, `kubectl 1.${v}: ${out}`);
      // Its stdin closed, the loop ended and so did the container: the pod completes.
      await status(name, (p) => p.status?.phase === 'Succeeded');
      assert.match(await k.kubectl(['logs', name]), /got:hello\ngot:world\nbye/);
    }
  });

  test('attach -i without stdinOnce: kubectl interrupted, the container runs on and can be attached again', async () => {
    await create(pod('reattach', { containers: [{ name: 'c', image: IMAGE, stdin: true, command: ['sh', '-c', 'while read l; do echo got:$l; done'] }] }));
    await running('reattach');
    for (const [v, line] of [[27, 'one'], [33, 'two'], [32, 'three']] as const) {
      const child = spawn(bins.get(v)!, ['--kubeconfig', k.kubeconfig, 'attach', 'reattach', '-i'], { env: { ...process.env, HOME: k.rootDir } });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stdin.write(`${line}\n`); // stdin stays open: without stdinOnce kubectl would wait for the container
      await until(`got:${line} (kubectl 1.${v})`, async () => out.includes(`got:${line}`));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const p = await k.client.get(PODS, 'default', 'reattach');
    assert.ok(p.status.containerStatuses[0].state.running);
    assert.equal(p.status.containerStatuses[0].restartCount, 0);
    assert.equal(await k.kubectl(['logs', 'reattach']), 'got:one\ngot:two\ngot:three\n');
  });

  test('attach -t to a TTY container: the terminal is the container\'s, with kubectl\'s size', async () => {
    for (const v of VERSIONS) {
      const name = `tty-${v}`;
      await create(pod(name, { containers: [{ name: 'sh', image: IMAGE, stdin: true, tty: true, command: ['sh'] }] }));
      await running(name);
      const out = await inTerminal(bins.get(v)!, `attach -it ${name} -c sh`,
        { rows: 31, cols: 97, feed: '(sleep 3; echo "sleep 1; tty; stty size"; sleep 3; echo exit; sleep 1)' });
      assert.match(out, /\/dev\/pts\/\d+/, `kubectl 1.${v}: ${out}`);
      assert.match(out, /31 97/, `kubectl 1.${v}: ${out}`);
    }
  });

  test('exec -it runs in a terminal of the client\'s size (resize on SPDY and on WebSocket channel 4)', async () => {
    await create(pod('exec-tty', { containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }] }));
    await running('exec-tty');
    for (const v of VERSIONS) {
      // The size lands just after the process starts (Docker resizes then, as with `docker exec -it`): ask a moment later.
      const out = await inTerminal(bins.get(v)!, `exec -it exec-tty -- sh -c ${shq('sleep 1.5; tty; stty size; echo exit-$((6*7))')}`, { rows: 33, cols: 77 });
      assert.match(out, /\/dev\/pts\/\d+/, `kubectl 1.${v}: ${out}`);
      assert.match(out, /33 77/, `kubectl 1.${v}: ${out}`);
      assert.match(out, /exit-42/);
      // Piped stdin (-i) without a terminal still works: a shell reads its commands from it.
      assert.equal(await k.kubectl(['exec', '-i', 'exec-tty', '--', 'sh'], { bin: bins.get(v), input: 'echo from-$((1+1))\n' }), 'from-2\n');
    }
  });

  test('cp copies files and directories into a pod and out of it (tar over exec)', async () => {
    await create(pod('cp', { containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }] }));
    await running('cp');
    const local = fs.mkdtempSync(path.join(k.rootDir, 'cp-'));
    fs.writeFileSync(path.join(local, 'in.txt'), 'copied in\n');
    fs.mkdirSync(path.join(local, 'dir/sub'), { recursive: true });
    fs.writeFileSync(path.join(local, 'dir/sub/deep.bin'), Buffer.alloc(300_000, 7));
    for (const v of VERSIONS) {
      const bin = bins.get(v);
      await k.kubectl(['cp', path.join(local, 'in.txt'), `cp:/tmp/in-${v}.txt`], { bin });
      assert.equal(await k.kubectl(['exec', 'cp', '--', 'cat', `/tmp/in-${v}.txt`]), 'copied in\n', `kubectl 1.${v}`);
      await k.kubectl(['cp', path.join(local, 'dir'), `cp:/tmp/dir-${v}`], { bin });
      assert.equal((await k.kubectl(['exec', 'cp', '--', 'wc', '-c', `/tmp/dir-${v}/sub/deep.bin`])).trim(), `300000 /tmp/dir-${v}/sub/deep.bin`);
      await k.kubectl(['exec', 'cp', '--', 'sh', '-c', `mkdir -p /tmp/out-${v}/a && echo made in the pod > /tmp/out-${v}/a/f.txt && echo top > /tmp/out-${v}/top.txt`]);
      const back = path.join(local, `back-${v}`);
      await k.kubectl(['cp', `cp:/tmp/out-${v}`, back], { bin });
      assert.equal(fs.readFileSync(path.join(back, 'a/f.txt'), 'utf8'), 'made in the pod\n', `kubectl 1.${v}`);
      assert.equal(fs.readFileSync(path.join(back, 'top.txt'), 'utf8'), 'top\n');
      await k.kubectl(['cp', `cp:/tmp/dir-${v}/sub/deep.bin`, path.join(local, `deep-${v}.bin`)], { bin });
      assert.deepEqual(fs.readFileSync(path.join(local, `deep-${v}.bin`)), Buffer.alloc(300_000, 7));
    }
  });

  test('debug -it --image --target: an ephemeral container that sees the target container\'s processes', async () => {
    await create(pod('debugged', { containers: [{ name: 'app', image: IMAGE, command: ['sh', '-c', 'exec sleep 3601'] }] }));
    await running('debugged');
    for (const v of VERSIONS) {
      const c = `dbg-${v}`;
      // No terminal here: kubectl says it cannot use one and attaches with stdin only; the shell reads the piped commands.
      const out = await k.kubectl(['debug', 'debugged', '-it', `--image=${IMAGE}`, '--target=app', '-c', c, '--', 'sh'],
        { bin: bins.get(v), input: 'ps; echo pid1=$(cat /proc/1/cmdline | tr "\\0" " ")\nexit\n' });
      assert.match(out, /sleep 3601/, `kubectl 1.${v}: ${out}`);
      assert.match(out, /pid1=sleep 3601/, `kubectl 1.${v}: ${out}`);
      const p = await status('debugged', (x) => x.status?.ephemeralContainerStatuses?.find((s: Obj) => s.name === c)?.state?.terminated);
      const spec = p.spec.ephemeralContainers.find((e: Obj) => e.name === c);
      assert.equal(spec.targetContainerName, 'app');
      assert.equal(p.status.ephemeralContainerStatuses.find((s: Obj) => s.name === c).state.terminated.exitCode, 0);
      // The pod itself is untouched: still running, its app container never restarted.
      assert.equal(p.status.phase, 'Running');
      assert.equal(p.status.containerStatuses[0].restartCount, 0);
    }
    // In a terminal (kubectl 1.33, WebSocket): the debug container gets a TTY of the terminal's size.
    const term = await inTerminal(bins.get(33)!, `debug debugged -it --image=${IMAGE} --target=app -c dbg-tty -- sh`,
      // The terminal's size reaches the container once kubectl has attached (as Docker applies it): ask a moment later.
      { rows: 29, cols: 101, feed: '(sleep 4; echo "sleep 1; stty size; ps"; sleep 3; echo exit; sleep 1)' });
    assert.match(term, /29 101/, term);
    assert.match(term, /sleep 3601/, term);
    // Without --target the debug container has its own PID namespace: PID 1 is its own shell.
    const out = await k.kubectl(['debug', 'debugged', '-i', `--image=${IMAGE}`, '-c', 'no-target', '--', 'sh'], { input: 'echo pid1=$(cat /proc/1/cmdline | tr "\\0" " ")\nexit\n' });
    assert.match(out, /pid1=sh/);
    assert.match(await k.kubectl(['get', 'pod', 'debugged', '-o', 'jsonpath={.status.ephemeralContainerStatuses[*].name}']), /dbg-27 dbg-32 dbg-33 dbg-tty no-target/);
  });

  test('an ephemeral container whose image does not exist is ErrImagePull/ImagePullBackOff; the pod is not disturbed', async () => {
    await create(pod('bad-debug', { containers: [{ name: 'app', image: IMAGE, command: ['sleep', '3600'] }] }));
    await running('bad-debug');
    await k.kubectl(['debug', 'bad-debug', '--image=kubemu/does-not-exist:1', '-c', 'ghost']);
    const p = await status('bad-debug', (x) => ['ErrImagePull', 'ImagePullBackOff'].includes(x.status?.ephemeralContainerStatuses?.[0]?.state?.waiting?.reason));
    assert.match(p.status.ephemeralContainerStatuses[0].state.waiting.message, /kubemu\/does-not-exist:1/);
    await status('bad-debug', (x) => x.status?.ephemeralContainerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');
    const now = await k.client.get(PODS, 'default', 'bad-debug');
    assert.equal(now.status.phase, 'Running');
    assert.equal(now.status.conditions.find((c: Obj) => c.type === 'Ready').status, 'True');
    assert.equal(now.status.containerStatuses[0].restartCount, 0);
    assert.ok(now.status.containerStatuses[0].state.running);
  });

  test('pods/ephemeralcontainers: GET, PATCH and PUT; ephemeral containers are only added, with Kubernetes\' rules', async () => {
    await create(pod('ec', { containers: [{ name: 'app', image: IMAGE, command: ['sleep', '3600'] }] }));
    await running('ec');
    const sub = '/api/v1/namespaces/default/pods/ec/ephemeralcontainers';
    const got = await api('GET', sub);
    assert.equal(got.code, 200);
    assert.equal(got.body.kind, 'Pod');
    const debugger1 = { name: 'd1', image: IMAGE, command: ['sleep', '3600'], stdin: true, tty: true, targetContainerName: 'app' };
    const added = await api('PATCH', sub, { spec: { ephemeralContainers: [debugger1] } });
    assert.equal(added.code, 200, JSON.stringify(added.body));
    assert.equal(added.body.spec.ephemeralContainers[0].terminationMessagePolicy, 'File'); // defaulted as any container
    const reject = async (body: Obj, re: RegExp, method = 'PATCH', type?: string) => {
      const r = await api(method, sub, body, type);
      assert.equal(r.code, 422, JSON.stringify(r.body));
      assert.equal(r.body.reason, 'Invalid');
      assert.match(r.body.message, re);
    };
    await reject({ spec: { ephemeralContainers: [{ name: 'd2', image: IMAGE, ports: [{ containerPort: 80 }], readinessProbe: { exec: { command: ['true'] } } }] } },
      /Pod "ec" is invalid: \[spec\.ephemeralContainers\[1\]\.ports: Forbidden: cannot be set for an Ephemeral Container, spec\.ephemeralContainers\[1\]\.readinessProbe: Forbidden: cannot be set for an Ephemeral Container\]/);
    await reject({ spec: { ephemeralContainers: [{ name: 'd3', image: IMAGE, resources: { limits: { cpu: '1' } }, lifecycle: { postStart: { exec: { command: ['true'] } } } }] } },
      /spec\.ephemeralContainers\[1\]\.resources: Forbidden: cannot be set for an Ephemeral Container.*lifecycle: Forbidden: cannot be set for an Ephemeral Container/);
    await reject({ spec: { ephemeralContainers: [{ name: 'd4', image: IMAGE, targetContainerName: 'nope' }] } }, /spec\.ephemeralContainers\[1\]\.targetContainerName: Not found: "nope"/);
    await reject({ spec: { ephemeralContainers: [{ name: 'app', image: IMAGE }] } }, /spec\.ephemeralContainers\[1\]\.name: Duplicate value: "app"/);
    await reject({ spec: { ephemeralContainers: [{ ...debugger1, image: 'kubemu/hello:1' }] } }, /spec\.ephemeralContainers: Forbidden: existing ephemeral containers "d1" may not be changed/);
    const current = (await api('GET', sub)).body;
    await reject({ ...current, spec: { ...current.spec, ephemeralContainers: [] } }, /spec\.ephemeralContainers: Forbidden: existing ephemeral containers "d1" may not be removed/, 'PUT', 'application/json');
    // PUT adds too, and only spec.ephemeralContainers is taken from the body.
    const put = await api('PUT', sub, { ...current, metadata: { ...current.metadata, labels: { ignored: 'yes' } },
      spec: { ...current.spec, activeDeadlineSeconds: 5, ephemeralContainers: [...current.spec.ephemeralContainers, { name: 'd5', image: IMAGE, command: ['true'] }] } }, 'application/json');
    assert.equal(put.code, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.spec.ephemeralContainers.map((c: Obj) => c.name), ['d1', 'd5']);
    assert.equal(put.body.spec.activeDeadlineSeconds, undefined);
    assert.equal(put.body.metadata.labels?.ignored, undefined);
    // A pod is not created with one, and cannot gain one itself; a label still changes on a pod that has them.
    const born = await api('POST', '/api/v1/namespaces/default/pods', pod('ec-born', { containers: [{ name: 'a', image: IMAGE }], ephemeralContainers: [{ name: 'd', image: IMAGE }] }), 'application/json');
    assert.equal(born.code, 422);
    assert.match(born.body.message, /spec\.ephemeralContainers: Forbidden: cannot be set on create/);
    await k.kubectl(['label', 'pod', 'ec', 'debugged=yes']);
    const direct = await api('PATCH', '/api/v1/namespaces/default/pods/ec', { spec: { ephemeralContainers: [{ name: 'd6', image: IMAGE }] } });
    assert.equal(direct.code, 422);
    assert.match(direct.body.message, /spec: Forbidden: pod updates may not change fields other than/);
    // The kubelet ran both: d1 keeps running (never ready), d5 ran `true` and is not restarted.
    const p = await status('ec', (x) => x.status?.ephemeralContainerStatuses?.length === 2
      && x.status.ephemeralContainerStatuses.find((s: Obj) => s.name === 'd5')?.state?.terminated);
    const d1 = p.status.ephemeralContainerStatuses.find((s: Obj) => s.name === 'd1');
    assert.ok(d1.state.running);
    assert.equal(d1.ready, false);
    // exec works in an ephemeral container too; d1 shares app's PID namespace, whose PID 1 is app's sleep.
    assert.match(await k.kubectl(['exec', 'ec', '-c', 'd1', '--', 'ps']), /^\s+1 \S+\s+sleep 3600$/m);
  });

  test('logs: --tail, --timestamps, --since, --since-time, --limit-bytes, --all-containers, -l, --previous', async () => {
    const lines = 'echo line-1; echo line-2; echo line-3; sleep 2; echo late; sleep 3600';
    await create(pod('logs', { initContainers: [{ name: 'init', image: IMAGE, command: ['sh', '-c', 'echo from-init'] }],
      containers: [{ name: 'main', image: IMAGE, command: ['sh', '-c', lines] }, { name: 'side', image: IMAGE, command: ['sh', '-c', 'echo from-side; sleep 3600'] }] },
    { labels: { app: 'logs' } }));
    await until('late', async () => /late/.test(await k.kubectl(['logs', 'logs', '-c', 'main']).catch(() => '')));
    for (const v of [27, 33]) {
      const bin = bins.get(v);
      const logs = (...a: string[]) => k.kubectl(['logs', 'logs', ...a], { bin });
      assert.equal(await logs('-c', 'main'), 'line-1\nline-2\nline-3\nlate\n');
      assert.equal(await logs('-c', 'main', '--tail=2'), 'line-3\nlate\n');
      assert.equal(await logs('-c', 'main', '--limit-bytes=9'), 'line-1\nli');
      const stamped = (await logs('-c', 'main', '--timestamps')).trim().split('\n');
      assert.equal(stamped.length, 4);
      for (const l of stamped) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line-\d|late$/);
      const lateAt = stamped[3].split(' ')[0];
      assert.equal(await logs('-c', 'main', `--since-time=${lateAt}`), 'late\n');
      assert.equal(await logs('-c', 'main', '--since=1h'), 'line-1\nline-2\nline-3\nlate\n');
      const wait = 1500 - (Date.now() - Date.parse(lateAt));
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      assert.equal(await logs('-c', 'main', '--since=1s'), ''); // "late" is more than a second old
      const all = await logs('--all-containers', '--prefix');
      assert.match(all, /\[pod\/logs\/init\] from-init/);
      assert.match(all, /\[pod\/logs\/main\] late/);
      assert.match(all, /\[pod\/logs\/side\] from-side/);
      assert.match(await k.kubectl(['logs', '-l', 'app=logs', '-c', 'side'], { bin }), /^from-side\n$/);
    }
    // --previous: the container before the last restart.
    await create(pod('restarts', { volumes: [{ name: 'd', emptyDir: {} }], containers: [{ name: 'c', image: IMAGE, volumeMounts: [{ name: 'd', mountPath: '/d' }],
      command: ['sh', '-c', 'n=$(( $(cat /d/n 2>/dev/null || echo 0) + 1 )); echo $n > /d/n; echo attempt-$n; sleep 4; exit 1'] }] }));
    await status('restarts', (p) => p.status?.containerStatuses?.[0]?.restartCount >= 1 && p.status.containerStatuses[0].state.running, 60_000);
    const current = Number(/attempt-(\d+)/.exec(await k.kubectl(['logs', 'restarts']))?.[1]);
    assert.equal(await k.kubectl(['logs', 'restarts', '--previous'], { bin: bins.get(27) }), `attempt-${current - 1}\n`);
    await assert.rejects(k.kubectl(['logs', 'logs', '-c', 'side', '--previous']).catch((e) => { throw new Error(e.stderr); }), /previous terminated container "side" in pod "logs" not found/);
  });

  test('debug node/NAME: a pod on that node with its root filesystem at /host', async () => {
    fs.writeFileSync(path.join(k.rootDir, 'node-marker'), 'on the node\n');
    for (const v of [27, 33]) {
      const out = await k.kubectl(['debug', `node/${k.node}`, '-i', `--image=${IMAGE}`, '--', 'sh'],
        { bin: bins.get(v), input: `cat /host${k.rootDir}/node-marker\nexit\n` });
      assert.match(out, /on the node/, `kubectl 1.${v}: ${out}`);
    }
    const pods = (await k.client.list(PODS, 'default')).items.filter((p) => p.metadata.name!.startsWith(`node-debugger-${k.node}-`));
    assert.equal(pods.length, 2);
    for (const p of pods) {
      assert.equal(p.spec.nodeName, k.node);
      assert.deepEqual(p.spec.volumes.find((x: Obj) => x.hostPath)?.hostPath.path, '/');
    }
  });
});
