// A real apiserver over a real etcd for one test file: `const api = await testApiServer(t)`.
// Both stop when the test (or suite) ends.
import { startApiServer, type ApiServerOptions, type RunningApiServer } from '../../apiserver/server.ts';
import type { EtcdProcess } from '../../lib/etcd-process.ts';
import { testEtcd } from './etcd.ts';

interface HasAfter { after(fn: () => unknown): void }

export interface TestApiServer extends RunningApiServer {
  etcd: EtcdProcess;
}

export async function testApiServer(t: HasAfter, opts: { etcd?: EtcdProcess } & Partial<ApiServerOptions> = {}): Promise<TestApiServer> {
  const { etcd: given, ...rest } = opts;
  const etcd = given ?? await testEtcd(t);
  const server = await startApiServer({ etcdEndpoints: [etcd.endpoint], port: 0, grpcPort: 0, ...rest });
  t.after(() => server.close());
  return { ...server, etcd };
}
