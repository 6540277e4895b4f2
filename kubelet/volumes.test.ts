// Volumes as the kubelet makes them, against a real apiserver: configMap/secret items and modes, binaryData,
// downwardAPI, projected, the atomic swap on update (a subPath resolved before keeps its data), hostPath type
// checks, and clear refusals for what is missing or unsupported.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testApiServer, type TestApiServer } from '../test/harness/apiserver.ts';
import { HttpApiClient } from '../client/http-client.ts';
import type { KubeObject } from '../api/types.ts';
import { mkdirs, refreshVolumes, setUpVolumes, setVolumeOwnership } from './volumes.ts';
import { resolveSubPath } from './subpath.ts';

describe('volumes', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let client: HttpApiClient;
  let rootDir: string;
  const CM = { group: '', resource: 'configmaps' };
  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    client = new HttpApiClient({ server: api.url });
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-volumes-'));
    await client.create(CM, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { 'app.conf': 'color=blue', other: 'x' }, binaryData: { 'logo.bin': Buffer.from([0, 1, 2]).toString('base64') } } as KubeObject);
    await client.create({ group: '', resource: 'secrets' }, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { password: 's3cret' } } as KubeObject);
  });
  after(async () => { await client.close(); fs.rmSync(rootDir, { recursive: true, force: true }); for (const fn of cleanups.reverse()) await fn(); });

  const deps = () => ({ client, rootDir, nodeName: 'n1', nodeIP: '127.0.0.1' });
  const pod = (volumes: object[], extra: object = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: `u-${Math.random().toString(36).slice(2)}`, labels: { app: 'web', tier: 'front' }, annotations: { build: '42' } },
    spec: { volumes, containers: [{ name: 'c', image: 'i', resources: { limits: { memory: '64Mi' } } }], ...extra } } as KubeObject);
  const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
  const mode = (dir: string, rel: string) => fs.statSync(path.join(dir, rel)).mode & 0o777;

  test('configMap: every key, or items (key → path) with modes; binaryData; secret decoded', async () => {
    const dirs = await setUpVolumes(pod([
      { name: 'all', configMap: { name: 'cfg' } },
      { name: 'some', configMap: { name: 'cfg', defaultMode: 0o600, items: [{ key: 'app.conf', path: 'conf/app.conf' }, { key: 'other', path: 'o', mode: 0o400 }] } },
      { name: 'sec', secret: { secretName: 'creds' } },
    ]), deps());
    assert.deepEqual(fs.readdirSync(dirs.get('all')!).filter((e) => !e.startsWith('..')).sort(), ['app.conf', 'logo.bin', 'other']);
    assert.equal(read(dirs.get('all')!, 'app.conf'), 'color=blue');
    assert.deepEqual([...fs.readFileSync(path.join(dirs.get('all')!, 'logo.bin'))], [0, 1, 2]);
    assert.equal(mode(dirs.get('all')!, 'app.conf'), 0o644);
    assert.deepEqual(fs.readdirSync(dirs.get('some')!).filter((e) => !e.startsWith('..')).sort(), ['conf', 'o']);
    assert.equal(read(dirs.get('some')!, 'conf/app.conf'), 'color=blue');
    assert.equal(mode(dirs.get('some')!, 'conf/app.conf'), 0o600);
    assert.equal(mode(dirs.get('some')!, 'o'), 0o400);
    assert.equal(read(dirs.get('sec')!, 'password'), 's3cret');
    assert.ok(fs.lstatSync(path.join(dirs.get('all')!, 'app.conf')).isSymbolicLink(), 'visible names link into ..data');
  });

  test('downwardAPI and projected', async () => {
    const p = pod([
      { name: 'info', downwardAPI: { items: [
        { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        { path: 'name', fieldRef: { fieldPath: 'metadata.name' } }, { path: 'tier', fieldRef: { fieldPath: "metadata.labels['tier']" } },
        { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' } }] } },
      { name: 'all-in-one', projected: { sources: [{ configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'app.conf' }] } }, { secret: { name: 'creds' } },
        { downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] } }] } },
    ]);
    const dirs = await setUpVolumes(p, deps());
    const info = dirs.get('info')!;
    assert.equal(read(info, 'labels'), 'app="web"\ntier="front"');
    assert.equal(read(info, 'annotations'), 'build="42"');
    assert.equal(read(info, 'name'), 'p');
    assert.equal(read(info, 'tier'), 'front');
    assert.equal(read(info, 'mem'), '64');
    const aio = dirs.get('all-in-one')!;
    assert.deepEqual([read(aio, 'app.conf'), read(aio, 'password'), read(aio, 'ns')], ['color=blue', 's3cret', 'default']);
  });

  test('updates swap atomically; a subPath resolved before keeps the old data; removed keys go', async () => {
    await client.create(CM, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live' }, data: { a: '1', b: '2' } } as KubeObject);
    const p = pod([{ name: 'v', configMap: { name: 'live' } }, { name: 'd', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }]);
    const dirs = await setUpVolumes(p, deps());
    const v = dirs.get('v')!;
    // A subPath mount binds the resolved file itself: like an open descriptor, it keeps that inode.
    const sub = fs.openSync(resolveSubPath(v, { name: 'v', subPath: 'a' }, new Map()), 'r');
    await client.update(CM, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live' }, data: { a: 'changed', c: 'new' } } as KubeObject);
    p.metadata.labels = { app: 'relabelled' };
    await refreshVolumes(p, deps());
    assert.equal(read(v, 'a'), 'changed');
    assert.equal(read(v, 'c'), 'new');
    assert.ok(!fs.existsSync(path.join(v, 'b')), 'a key removed from the ConfigMap leaves the volume');
    assert.equal(fs.readFileSync(sub, 'utf8'), '1', 'the subPath mount still shows what it had');
    fs.closeSync(sub);
    assert.equal(read(dirs.get('d')!, 'labels'), 'app="relabelled"');
    assert.equal(fs.readdirSync(v).filter((e) => e.startsWith('..') && e !== '..data').length, 1, 'the old data directory is gone');
  });

  test('missing sources, hostPath type checks and unsupported types are refused with Kubernetes-style messages', async () => {
    await assert.rejects(setUpVolumes(pod([{ name: 'm', configMap: { name: 'nope' } }]), deps()), /MountVolume.SetUp failed for volume "m" : configmap "nope" not found/);
    await setUpVolumes(pod([{ name: 'm', configMap: { name: 'nope', optional: true } }]), deps());
    await assert.rejects(setUpVolumes(pod([{ name: 'k', configMap: { name: 'cfg', items: [{ key: 'missing', path: 'x' }] } }]), deps()), /configmap references non-existent config key: missing/);
    const host = path.join(rootDir, 'host');
    const dirs = await setUpVolumes(pod([{ name: 'h', hostPath: { path: path.join(host, 'made'), type: 'DirectoryOrCreate' } }, { name: 'f', hostPath: { path: path.join(host, 'f.txt'), type: 'FileOrCreate' } }]), deps());
    assert.ok(fs.statSync(dirs.get('h')!).isDirectory());
    assert.ok(fs.statSync(dirs.get('f')!).isFile());
    await assert.rejects(setUpVolumes(pod([{ name: 'h', hostPath: { path: path.join(host, 'f.txt'), type: 'Directory' } }]), deps()), /hostPath type check failed: .*f.txt is not a directory/);
    await assert.rejects(setUpVolumes(pod([{ name: 'n', nfs: { server: 'x', path: '/' } }]), deps()), /volume type nfs is not supported by kubemu/);
  });
});

test('fsGroup ownership: group-owned, group rw (r when read-only), setgid directories; OnRootMismatch skips a matching root', { skip: process.getuid?.() !== 0 && 'needs root (chown)' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-fsgroup-'));
  try {
    fs.mkdirSync(path.join(dir, 'sub'), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'sub/f'), 'x', { mode: 0o600 });
    fs.symlinkSync('sub/f', path.join(dir, 'link'));
    fs.chmodSync(dir, 0o777);
    setVolumeOwnership(dir, 2000, false);
    const st = (p: string) => { const s = fs.statSync(path.join(dir, p)); return [s.gid, (s.mode & 0o7777).toString(8)]; };
    assert.deepEqual(st('.'), [2000, '2777']);
    assert.deepEqual(st('sub'), [2000, '2775']);
    assert.deepEqual(st('sub/f'), [2000, '660']);
    assert.equal(fs.lstatSync(path.join(dir, 'link')).gid, 2000);
    fs.writeFileSync(path.join(dir, 'new'), 'y', { mode: 0o600 });
    fs.chownSync(path.join(dir, 'new'), 0, 0);
    setVolumeOwnership(dir, 2000, false, true); // the root matches: nothing walked
    assert.deepEqual(st('new'), [0, '600']);
    setVolumeOwnership(dir, 3000, true);
    assert.deepEqual(st('new'), [3000, '640']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a hostPath that cannot be created fails the mount with the reason, and never hangs (a /proc path)', () => {
  assert.throws(() => mkdirs('/proc/kubemu-no/such', 0o755), { code: 'ENOENT' });
  assert.throws(() => mkdirs('/etc/hostname/x', 0o755), { code: 'ENOTDIR' });
});
