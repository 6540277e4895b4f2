// subPath/subPathExpr on disk: created inside the volume, never outside it — not by "..", not through a symlink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expandSubPathExpr, resolveSubPath } from './subpath.ts';

test('subPath stays inside its volume', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-subpath-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vol = path.join(dir, 'vol');
  fs.mkdirSync(vol);
  const env = new Map([['POD_NAME', 'web-0']]);
  const real = fs.realpathSync(vol);
  assert.equal(resolveSubPath(vol, { name: 'v' }, env), vol);
  assert.equal(resolveSubPath(vol, { name: 'v', subPath: 'a/b' }, env), path.join(real, 'a/b'));
  assert.ok(fs.statSync(path.join(vol, 'a/b')).isDirectory(), 'created');
  assert.equal(resolveSubPath(vol, { name: 'v', subPathExpr: 'logs/$(POD_NAME)' }, env), path.join(real, 'logs/web-0'));
  assert.throws(() => resolveSubPath(vol, { name: 'v', subPath: '../../../../etc' }, env), /must be a relative path inside the volume/);
  assert.throws(() => resolveSubPath(vol, { name: 'v', subPath: '/etc' }, env), /must be a relative path inside the volume/);
  // A link planted inside the volume (a container can do that) pointing out of it.
  fs.symlinkSync('/etc', path.join(vol, 'escape'));
  assert.throws(() => resolveSubPath(vol, { name: 'v', subPath: 'escape' }, env), /outside the volume/);
  fs.symlinkSync('../../', path.join(vol, 'a', 'up2'));
  assert.throws(() => resolveSubPath(vol, { name: 'v', subPath: 'a/up2/x' }, env), /outside the volume/);
  assert.ok(!fs.existsSync(path.join(dir, 'x')), 'nothing was created outside');
  // A link that stays inside is fine.
  fs.symlinkSync('a', path.join(vol, 'inside'));
  assert.equal(resolveSubPath(vol, { name: 'v', subPath: 'inside/b' }, env), path.join(real, 'a/b'));
});

test('subPathExpr expands $(VAR) from the container environment', () => {
  const env = new Map([['A', 'x'], ['B', 'y']]);
  assert.equal(expandSubPathExpr('$(A)/$(B)/$(C)', env), 'x/y/');
  assert.equal(expandSubPathExpr('$$(A)', env), '$(A)');
});
