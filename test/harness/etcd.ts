// A real etcd for one test file: `const etcd = await testEtcd(t)` starts it on free ports in a
// temp dir and stops it (and removes the dir) when the test (or suite) ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEtcd, type EtcdProcess } from '../../lib/etcd-process.ts';

interface HasAfter { after(fn: () => unknown): void }

export async function testEtcd(t: HasAfter, extraArgs: string[] = []): Promise<EtcdProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-etcd-'));
  const etcd = await startEtcd({ dataDir: path.join(dir, 'data'), logFile: path.join(dir, 'etcd.log'), extraArgs });
  t.after(async () => {
    await etcd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return etcd;
}
