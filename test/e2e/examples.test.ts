// Every manifest under examples/ is applied with the real kubectl and accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import { testApiServer } from '../harness/apiserver.ts';

const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples');

test('kubectl apply accepts every file in examples/', async (t) => {
  const api = await testApiServer(t);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-examples-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const kubeconfig = path.join(home, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
  // Async: the apiserver runs in this process, so a blocking exec would stall it.
  const run = promisify(execFile);
  const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', env: { ...process.env, HOME: home } })).stdout;
  const files = fs.readdirSync(EXAMPLES).filter((f) => /\.ya?ml$/.test(f)).sort();
  assert.ok(files.length >= 4);
  // Namespaces first, as a user following the README would have them.
  for (const f of ['hello-app.yaml', ...files.filter((x) => x !== 'hello-app.yaml')]) {
    const out = await kubectl('apply', '-f', path.join(EXAMPLES, f));
    assert.match(out, /(created|configured)$/m, f);
    const again = await kubectl('apply', '-f', path.join(EXAMPLES, f));
    // A Secret's stringData never shows in the live object, so (as on any cluster) it re-applies as "configured".
    // A StatefulSet's volumeClaimTemplates is a list without a merge key whose items the server defaults (apiVersion,
    // kind, volumeMode, status.phase): kubectl's three-way diff replaces it on every apply, as against any cluster.
    // A PodDisruptionBudget's selector has patchStrategy "replace": kubectl's patch always carries it, so it too
    // re-applies as "configured" on any cluster.
    const expected = f === 'storage.yaml' ? again.replace(/^statefulset\.apps\/kubia configured$/m, '')
      : f === 'policy.yaml' ? again.replace(/^poddisruptionbudget\.policy\/web configured$/m, '') : again;
    if (f !== 'config.yaml') assert.doesNotMatch(expected, /configured/, `${f}: a re-apply changes nothing`);
  }
  assert.match(await kubectl('get', 'deploy,svc', '-n', 'demo'), /deployment\.apps\/hello[\s\S]*service\/hello/);
  assert.equal(Buffer.from(JSON.parse(await kubectl('get', 'secret', 'credentials', '-o', 'json')).data.username, 'base64').toString(), 'admin');
});
