// The component bundles: one per entry point, runnable by plain node (no tsx), finding the
// repository root (proto/) from their own location, and reused while no source changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../lib/root.ts';
import { bundleDir, bundledEntry, ENTRIES } from './bundle.ts';

test('every component runs from its bundle with plain node, and the bundle is reused while no source changed', () => {
  const dir = bundleDir();
  assert.ok(dir, 'bundled (esbuild is a dependency)');
  for (const entry of ENTRIES) {
    const js = bundledEntry(entry)!;
    assert.equal(path.dirname(path.dirname(js)), dir);
    // --help exits after the flags are parsed, i.e. after every module (and the proto files) loaded.
    const out = execFileSync(process.execPath, [js, '--help'], { encoding: 'utf8', cwd: '/' });
    assert.match(out, /^usage: /, entry);
  }
  assert.equal(bundledEntry('bench/pods.ts'), undefined, 'only components are bundled');
  const current = JSON.parse(fs.readFileSync(path.join(ROOT, '.kubemu/bundle/current.json'), 'utf8'));
  assert.ok(ENTRIES.every((e) => current.inputs.includes(e)), 'the inputs recorded for the freshness check include every entry');
  // bin/kubemu.js runs the CLI's bundle (fresh now) and says the same as through tsx.
  const launcher = path.join(ROOT, 'bin/kubemu.js');
  const viaBundle = execFileSync(process.execPath, [launcher, '--help'], { encoding: 'utf8', cwd: '/' });
  const viaTsx = execFileSync(process.execPath, [launcher, '--help'], { encoding: 'utf8', cwd: '/', env: { ...process.env, KUBEMU_NO_BUNDLE: '1' } });
  assert.match(viaBundle, /^usage: kubemu/);
  assert.equal(viaBundle, viaTsx);
  // Another process finds the same bundle fresh instead of building again.
  const again = execFileSync(process.execPath, ['--import', 'tsx', '-e', "import('./launcher/bundle.ts').then((m) => console.log(m.bundleDir()))"], { encoding: 'utf8', cwd: ROOT }).trim();
  assert.equal(again, dir);
});
