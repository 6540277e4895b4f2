// The apiserver as its own OS process (as `kubemu up` runs it), for tests that kill -9 it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tlsFetch } from '../../lib/tls-fetch.ts';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../lib/free-port.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ApiServerProcess {
  url: string;
  grpcAddress: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `tls`: serve HTTPS with these files (and accept client certificates of `clientCA`); `args`: more flags. */
export async function spawnApiServer(etcdEndpoint: string, ports?: { port: number; grpcPort: number }, o: { tls?: { certFile: string; keyFile: string; caFile: string }; args?: string[] } = {}): Promise<ApiServerProcess> {
  const port = ports?.port ?? await freePort();
  const grpcPort = ports?.grpcPort ?? await freePort();
  // KUBEMU_CPU_PROF=DIR profiles it as `kubemu up --cpu-prof` does (bench:apiserver runs it this way).
  const prof = process.env.KUBEMU_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.KUBEMU_CPU_PROF, 'apiserver')}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', path.join(ROOT, 'apiserver/main.ts'),
    '--etcd-servers', etcdEndpoint, '--port', String(port), '--grpc-port', String(grpcPort), '--log-level', 'warn',
    // No controller manager makes the `default` ServiceAccount here: the ServiceAccount plugin is off, as in testApiServer.
    '--disable-admission-plugins', 'ServiceAccount',
    ...(o.tls ? ['--tls-cert-file', o.tls.certFile, '--tls-private-key-file', o.tls.keyFile, '--client-ca-file', o.tls.caFile] : []), ...(o.args ?? [])],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const ca = o.tls ? fs.readFileSync(o.tls.caFile, 'utf8') : undefined;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`apiserver exited during start-up: ${stderr}`);
    try {
      if ((await tlsFetch(`${url}/readyz`, {}, ca ? { ca } : undefined)).ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`apiserver not ready in 30 s: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url, grpcAddress: `127.0.0.1:${grpcPort}`, child, exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
