// The real `kubemu up` / `status` / `down` in a temp dir: separate processes, a kubeconfig the
// real kubectl uses, refusal of a second cluster, and nothing left running after `down`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../lib/free-port.ts';
import { isAlive, readState } from '../../cli/state.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kubemu = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });

test('kubemu up, status, kubectl, down', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-cli-'));
  const ports = ['--port', String(await freePort()), '--grpc-port', String(await freePort())];
  t.after(() => { kubemu(['down', '--dir', dir, '--purge']); fs.rmSync(dir, { recursive: true, force: true }); });

  const up = kubemu(['up', '--dir', dir, ...ports]);
  assert.equal(up.status, 0, up.stderr + up.stdout);
  assert.match(up.stdout, /etcd healthy at http:\/\/127\.0\.0\.1:\d+ \(\d+\.\d s\)/);
  assert.match(up.stdout, /waiting for apiserver \/readyz/);
  assert.match(up.stdout, new RegExp(`export KUBECONFIG=${dir}/kubeconfig`));
  const state = readState(dir)!;
  assert.deepEqual(state.components.map((c) => c.name), ['etcd', 'apiserver']);
  assert.ok(state.components.every((c) => isAlive(c.pid) && c.pid !== process.pid));

  const ns = execFileSync('kubectl', ['--kubeconfig', path.join(dir, 'kubeconfig'), 'get', 'ns', '-o', 'name'], { encoding: 'utf8', env: { ...process.env, HOME: dir } });
  for (const n of ['default', 'kube-system', 'kube-node-lease']) assert.match(ns, new RegExp(`^namespace/${n}$`, 'm'));

  const st = kubemu(['status', '--dir', dir]);
  assert.equal(st.status, 0, st.stdout);
  assert.match(st.stdout, /^apiserver\s+pid \d+\s+running/m);
  assert.match(st.stdout, /apiserver \/readyz: 200 ok/);

  const second = kubemu(['up', '--dir', dir, ...ports]);
  assert.equal(second.status, 1);
  assert.match(second.stderr, /already running .* kubemu down --dir/);

  const down = kubemu(['down', '--dir', dir]);
  assert.equal(down.status, 0, down.stderr);
  assert.match(down.stdout, /stopped apiserver[\s\S]*stopped etcd/);
  for (const c of state.components) assert.equal(isAlive(c.pid), false, `${c.name} still running`);
  assert.equal(kubemu(['down', '--dir', dir]).status, 0, 'down is idempotent');
  assert.equal(kubemu(['status', '--dir', dir]).status, 1);
});
