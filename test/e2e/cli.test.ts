// The real `kubemu up` / `status` / `down` in a temp dir: every component its own process, a node
// running a real pod in Docker, a kubeconfig the real kubectl uses, refusal of a second cluster,
// and nothing left running (processes or pod containers) after `down`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../lib/free-port.ts';
import { isAlive, readState } from '../../launcher/state.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kubemu = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
const run = promisify(execFile);

test('kubemu up (1 Docker node), a pod runs, status, down leaves nothing', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-cli-'));
  const ports = ['--port', String(await freePort()), '--grpc-port', String(await freePort())];
  t.after(() => { kubemu(['down', '--dir', dir, '--purge']); fs.rmSync(dir, { recursive: true, force: true }); });
  const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', path.join(dir, 'kubeconfig'), ...args], { encoding: 'utf8', env: { ...process.env, HOME: dir } })).stdout;

  const up = kubemu(['up', '--dir', dir, '--nodes', '1', ...ports]);
  assert.equal(up.status, 0, up.stderr + up.stdout);
  assert.match(up.stdout, /etcd healthy at http:\/\/127\.0\.0\.1:\d+ \(\d+\.\d s\)/);
  assert.match(up.stdout, /waiting for apiserver \/readyz/);
  assert.match(up.stdout, /kubelet-node-1 ready/);
  assert.match(up.stdout, new RegExp(`export KUBECONFIG=${dir}/kubeconfig`));
  const state = readState(dir)!;
  assert.deepEqual(state.components.map((c) => c.name), ['etcd', 'apiserver', 'scheduler', 'controller-manager', 'dns', 'kubelet-node-1', 'kube-proxy-node-1']);
  assert.match(up.stdout, /ClusterIPs served/);
  assert.ok(state.components.every((c) => isAlive(c.pid) && c.pid !== process.pid));

  const ns = await kubectl('get', 'ns', '-o', 'name');
  for (const n of ['default', 'kube-system', 'kube-node-lease']) assert.match(ns, new RegExp(`^namespace/${n}$`, 'm'));
  assert.match(await kubectl('get', 'nodes'), /^node-1\s+Ready\s/m);

  // A pod from the examples is scheduled onto node-1 and runs as a Docker container.
  await kubectl('apply', '-f', path.join(ROOT, 'examples/pod.yaml'));
  let pod: any;
  for (const end = Date.now() + 60_000; Date.now() < end;) {
    pod = JSON.parse(await kubectl('get', 'pod', 'hello-pod', '-o', 'json'));
    if (pod.status?.phase === 'Running' && pod.status.podIP) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(pod.status.phase, 'Running');
  assert.equal(pod.spec.nodeName, 'node-1');
  // Running is not listening yet: the server in the container may take a moment to bind.
  let body = '';
  for (const end = Date.now() + 30_000; !body && Date.now() < end;) {
    body = await fetch(`http://${pod.status.podIP}:8080/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => '');
    if (!body) await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(body, /hello-pod/);

  const st = kubemu(['status', '--dir', dir]);
  assert.equal(st.status, 0, st.stdout);
  assert.match(st.stdout, /^apiserver\s+pid \d+\s+running/m);
  assert.match(st.stdout, /apiserver \/readyz: 200 ok/);

  const second = kubemu(['up', '--dir', dir, ...ports]);
  assert.equal(second.status, 1);
  assert.match(second.stderr, /already running .* kubemu down --dir/);

  const down = kubemu(['down', '--dir', dir]);
  assert.equal(down.status, 0, down.stderr);
  assert.match(down.stdout, /stopped kube-proxy-node-1[\s\S]*stopped kubelet-node-1[\s\S]*stopped scheduler[\s\S]*stopped apiserver[\s\S]*stopped etcd[\s\S]*removed 2 pod container/);
  for (const c of state.components) assert.equal(isAlive(c.pid), false, `${c.name} still running`);
  const left = (await run('docker', ['ps', '-aq', '--filter', 'label=io.kubemu.node=node-1', '--filter', `label=io.kubernetes.pod.uid=${pod.metadata.uid}`])).stdout.trim();
  assert.equal(left, '', 'no pod container left');
  const addrs = (await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'kubemu0'])).stdout;
  assert.doesNotMatch(addrs, /inet 10\.96\./, 'the cluster\'s ClusterIPs are gone from kubemu0');
  assert.equal(kubemu(['down', '--dir', dir]).status, 0, 'down is idempotent');
  assert.equal(kubemu(['status', '--dir', dir]).status, 1);
});
