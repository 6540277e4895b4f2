// A real apiserver over a real etcd for one test file: `const api = await testApiServer(t)`.
// Both stop when the test (or suite) ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApiServer, type ApiServerOptions, type RunningApiServer } from '../../apiserver/server.ts';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import type { EtcdProcess } from '../../lib/etcd-process.ts';
import { testEtcd } from './etcd.ts';

interface HasAfter { after(fn: () => unknown): void }

export interface TestApiServer extends RunningApiServer {
  etcd: EtcdProcess;
}

export async function testApiServer(t: HasAfter, opts: { etcd?: EtcdProcess } & Partial<ApiServerOptions> = {}): Promise<TestApiServer> {
  const { etcd: given, ...rest } = opts;
  const etcd = given ?? await testEtcd(t);
  // No controller manager makes the `default` ServiceAccount here: ServiceAccount admission is off unless a test
  // that runs one asks for it (disableAdmissionPlugins: []), as in Kubernetes' integration tests.
  const server = await startApiServer({ etcdEndpoints: [etcd.endpoint], port: 0, grpcPort: 0, disableAdmissionPlugins: ['ServiceAccount'], ...rest });
  t.after(() => server.close());
  return { ...server, etcd };
}

export interface KubectlApiServer extends TestApiServer {
  /** A temp dir for the file's manifests (and kubectl's HOME), removed when the test ends. */
  dir: string;
  /** A kubeconfig in `dir` for this apiserver. */
  kubeconfig: string;
}

/** An apiserver as testApiServer makes it, with a temp dir and a kubeconfig for the real kubectl. */
export async function kubectlApiServer(t: HasAfter, prefix: string, opts: { token?: string } & Parameters<typeof testApiServer>[1] = {}): Promise<KubectlApiServer> {
  const { token = 'test', ...rest } = opts;
  const api = await testApiServer(t, rest);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kubemu-${prefix}-`));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url, token }));
  return { ...api, dir, kubeconfig };
}
