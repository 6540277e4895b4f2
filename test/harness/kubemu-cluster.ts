// A whole `kubemu up` cluster for an e2e file: start it, drive it with the real kubectl, stop it.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../lib/free-port.ts';
import { readState, type ClusterState } from '../../launcher/state.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

export const kubemu = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/kubemu.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });

/** Poll `fn` until it gives something truthy (errors count as "not yet"), and return it: test/harness/until.ts. */
export { until } from './until.ts';

export interface KubemuCluster {
  dir: string;
  state(): ClusterState;
  kubectl(...args: string[]): Promise<string>;
  down(): void;
}

export async function startCluster(name: string, extra: string[]): Promise<KubemuCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kubemu-${name}-`));
  // Names outside the cluster never reach the host's resolver from a test cluster.
  const dns = extra.includes('--dns-upstream') ? [] : ['--dns-upstream', 'none'];
  const up = kubemu(['up', '--dir', dir, '--name', name, '--port', String(await freePort()), '--grpc-port', String(await freePort()), ...dns, ...extra]);
  if (up.status !== 0) {
    kubemu(['down', '--dir', dir, '--purge']);
    assert.fail(`kubemu up failed (${up.status}):\n${up.stdout}\n${up.stderr}`);
  }
  return {
    dir,
    state: () => readState(dir)!,
    kubectl: async (...args: string[]) => (await run('kubectl', ['--kubeconfig', path.join(dir, 'kubeconfig'), ...args], { encoding: 'utf8', env: { ...process.env, HOME: dir }, timeout: 180_000, maxBuffer: 16 << 20 })).stdout,
    down: () => {
      // On failure, keep every component's log for a look afterwards (the cluster dir is removed).
      if (process.exitCode || process.env.KUBEMU_KEEP_LOGS) fs.cpSync(path.join(dir, 'logs'), `/tmp/kubemu-e2e-logs-${name}`, { recursive: true, force: true });
      const down = kubemu(['down', '--dir', dir, '--purge']);
      fs.rmSync(dir, { recursive: true, force: true });
      assert.equal(down.status, 0, down.stderr);
    },
  };
}

/** One HTTP GET on a new connection (no keep-alive), the body trimmed. */
export function getOnce(url: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve(body.trim())).on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`))).on('error', reject);
  });
}

/** n GETs one after another, each on its own connection. */
export async function hits(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await getOnce(url));
  return out;
}

/** Every backend answered the same number of times, in a fixed rotation (a b c a b c …). */
export function assertRotation(answers: string[], backends: string[], where: string): void {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  const want = answers.length / backends.length;
  assert.deepEqual([...counts.keys()].sort(), [...backends].sort(), `${where}: answered by ${JSON.stringify([...counts])}`);
  for (const b of backends) assert.equal(counts.get(b), want, `${where}: ${b} answered ${counts.get(b)} times, want ${want} (${JSON.stringify([...counts])})`);
  const k = backends.length;
  answers.forEach((a, i) => assert.equal(a, answers[i % k], `${where}: not in rotation at request ${i}: ${answers.join(' ')}`));
}
