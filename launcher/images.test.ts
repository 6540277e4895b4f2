// `kubemu images load`: flags, a missing image's error, and loading into another engine over --docker-host
// (this host's own engine by its unix socket stands in for a remote one: the same docker save | docker load path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultImagePullPolicy as defaultPullPolicy } from '../api/defaults/index.ts';
import { checkDockerHost, images } from './images.ts';

test('images load: --docker-host values docker understands', () => {
  assert.throws(() => checkDockerHost('10.0.0.2'), /want tcp:\/\/HOST:PORT/);
  assert.equal(checkDockerHost('unix:///var/run/docker.sock'), 'unix:///var/run/docker.sock');
});

test('the pull policy Kubernetes defaults to, from the tag', () => {
  assert.equal(defaultPullPolicy('app'), 'Always');
  assert.equal(defaultPullPolicy('app:latest'), 'Always');
  assert.equal(defaultPullPolicy('localhost:5000/app'), 'Always');
  assert.equal(defaultPullPolicy('localhost:5000/app:1'), 'IfNotPresent');
  assert.equal(defaultPullPolicy('app@sha256:abc'), 'IfNotPresent');
});

test('images load: a missing image is a clear error saying how to build it; a present one is recorded and loaded over --docker-host', async () => {
  assert.equal(spawnSync('bash', ['scripts/build-images.sh'], { encoding: 'utf8' }).status, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-images-'));
  const said: string[] = [];
  try {
    await assert.rejects(images({ operands: ['load', 'kubemu-test/nope:0'], dir }, (l) => said.push(l)),
      /image kubemu-test\/nope:0 is not in this machine's Docker engine\. Build it first, e\.g\. docker build -t kubemu-test\/nope:0/);
    const loaded = await images({ operands: ['load', 'kubemu/busybox:1'], dir, dockerHosts: ['unix:///var/run/docker.sock'] }, (l) => said.push(l));
    assert.equal(loaded[0].image, 'kubemu/busybox:1');
    assert.match(loaded[0].id, /^sha256:/);
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'images.json'), 'utf8'));
    assert.deepEqual(record.map((r: { image: string; hosts: string[] }) => [r.image, r.hosts]), [['kubemu/busybox:1', ['local', 'unix:///var/run/docker.sock']]]);
    assert.match(said.join('\n'), /Loaded image: kubemu\/busybox:1/);
    assert.match(said.join('\n'), /Always: kubemu's kubelet pulls only when the image\s+is missing/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
