#!/usr/bin/env node
// Launcher for `npx kubemu`: the CLI's own bundle when it is up to date (launcher/bundle.ts builds it with the
// components' bundles, on the first `up`), else its TypeScript through tsx. The bundle starts in about a
// quarter of the time. The freshness check is launcher/bundle.ts fresh(), in plain JavaScript: no TypeScript yet here.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** .kubemu/bundle/<hash>/cli/main.js if no source it was built from is newer; else undefined. */
function freshCliBundle() {
  if (process.env.KUBEMU_NO_BUNDLE) return undefined;
  try {
    const bundles = path.join(root, '.kubemu', 'bundle');
    const cur = JSON.parse(fs.readFileSync(path.join(bundles, 'current.json'), 'utf8'));
    const file = path.join(bundles, cur.dir, 'cli', 'main.js');
    const built = fs.statSync(file).mtimeMs;
    return cur.inputs.every((f) => fs.statSync(path.join(root, f)).mtimeMs <= built) ? file : undefined;
  } catch {
    return undefined;
  }
}

const bundle = freshCliBundle();
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
