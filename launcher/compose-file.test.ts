// docker-compose.yml's restart policies: Docker restarts every component container that exits
// (`unless-stopped`, the compose stack's counterpart of kubemu up's supervisor); only the one-shot
// steps, which are meant to exit, are never restarted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT } from '../lib/root.ts';

const ONE_SHOT = ['init', 'kubeconfig', 'ready', 'cleanup'];

test('docker-compose.yml: every component service restarts unless stopped; the one-shot steps never', () => {
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
  const services = Object.entries(doc.services as Record<string, { restart?: string }>);
  const components = services.filter(([name]) => !ONE_SHOT.includes(name));
  assert.ok(components.length === 16, `components: ${components.map(([n]) => n).join(', ')}`);
  for (const [name, s] of components) assert.equal(s.restart, 'unless-stopped', name);
  for (const name of ONE_SHOT) assert.equal(doc.services[name]?.restart, 'no', name);
});
