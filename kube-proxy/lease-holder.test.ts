import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { deadOnThisHost } from './lease-holder.ts';

test('a lease holder is gone when its pid on this host no longer runs a kube-proxy', async () => {
  const host = os.hostname();
  // A stand-in kube-proxy: its command line names kube-proxy, as the real one's does.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'kube-proxy'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const id = `${host}_node-1_${child.pid}`;
  assert.equal(deadOnThisHost(id), false, 'running');
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(deadOnThisHost(id), true, 'killed');
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  await once(other, 'spawn');
  assert.equal(deadOnThisHost(`${host}_node-1_${other.pid}`), true, 'a pid running something else');
  other.kill();
  assert.equal(deadOnThisHost(`other-host_node-1_${child.pid}`), false, 'another host: only its lease can tell');
  for (const bad of ['', 'x', `${host}_node-1_abc`, `${host}_node-1_-1`]) assert.equal(deadOnThisHost(bad), false, bad);
});
