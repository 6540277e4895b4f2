// One real apiserver (over a real etcd) and one kubelet on the Docker runtime (over the CRI gRPC socket), with its
// streaming server, for an e2e test file: `const k = await dockerKubelet({ after })`. Everything is removed at the
// end, even when a test failed. `kubectl(...)` runs the real kubectl against it (KUBECTL picks another version).
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import { removeNodeContainers } from '../../launcher/docker-cleanup.ts';
import { CriClient } from '../../kubelet/cri/client.ts';
import { CriServer } from '../../kubelet/cri/server.ts';
import { DockerRuntime } from '../../kubelet/cri/docker/runtime.ts';
import { Kubelet } from '../../kubelet/kubelet.ts';
import { createKubeletServer } from '../../kubelet/server.ts';
import { closeServer, trackSockets } from '../../lib/close-server.ts';
import { freePort } from '../../lib/free-port.ts';
import { silentLogger } from '../../lib/logger.ts';
import type { ApiServerOptions } from '../../apiserver/server.ts';
import { testApiServer, type TestApiServer } from './apiserver.ts';
import { createCA, issueCertificate, type KeyPair } from '../../lib/pki.ts';
import { kubeletAuthenticator } from '../../kubelet/auth.ts';
import { until as poll } from './until.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const run = promisify(execFile);

/** test/harness/until.ts as these tests wait: 30 s by default, every 200 ms; any value but undefined and false is done (0, '', null too). */
export const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> =>
  poll(what, fn, ms, { everyMs: 200, done: (v) => v !== undefined && v !== false });

export interface DockerKubelet {
  api: TestApiServer;
  client: ApiClient;
  node: string;
  network: string;
  rootDir: string;
  kubeconfig: string;
  docker: DockerRuntime;
  kubelet(): Kubelet | undefined;
  /** The real kubectl (stdout); `bin` picks another one, e.g. kubectl.1.27. */
  kubectl(args: string[], opts?: { bin?: string; input?: string; timeoutMs?: number }): Promise<string>;
  /** Ids of this node's Docker containers with `label` (other suites run pods of the same names meanwhile). */
  dockerIds(label: string): Promise<string[]>;
  startKubelet(): void;
  stopKubelet(): Promise<void>;
  /** The kubelet API's URL (https:// with kubeletTLS). */
  kubeletUrl: string;
  /** With kubeletTLS: the CA that issued the kubelet's serving certificate and the apiserver's client certificate. */
  ca?: KeyPair;
}

interface HasAfter { after(fn: () => unknown): void }

export async function dockerKubelet(t: HasAfter, opts: { name?: string; nodeIP?: string; api?: Partial<ApiServerOptions>; kubeletTLS?: boolean } = {}): Promise<DockerKubelet> {
  execFileSync('bash', [path.join(ROOT, 'scripts/build-images.sh')], { stdio: 'ignore' });
  const cleanups: Array<() => unknown> = [];
  t.after(async () => { for (const fn of cleanups.reverse()) await fn(); });
  const node = `${opts.name ?? 'e2e-kubelet'}-${process.pid}`;
  const network = `kubemu-e2e-${opts.name ?? 'kubelet'}-${process.pid}`;
  // kubeletTLS: the kubelet API over HTTPS requiring client certificates of one CA, and the apiserver presenting one.
  const ca = opts.kubeletTLS ? await createCA() : undefined;
  const serving = ca && await issueCertificate(ca, { commonName: `system:node:${node}`, organizations: ['system:nodes'], dnsNames: [node], ipAddresses: [opts.nodeIP ?? '127.0.0.1'], usage: 'server' });
  const apiClientCert = ca && await issueCertificate(ca, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], usage: 'client' });
  const api = await testApiServer({ after: (fn) => cleanups.push(fn) }, { ...opts.api, ...(ca ? { kubeletClient: { ...apiClientCert!, ca: ca.cert } } : {}) });
  const client = createApiClient({ transport: 'grpc', server: api.grpcAddress });
  cleanups.push(() => client.close());
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-kubelet-'));
  cleanups.push(() => fs.rmSync(rootDir, { recursive: true, force: true }));
  const docker = new DockerRuntime({ nodeName: node, network });
  const criServer = new CriServer({ socketPath: path.join(rootDir, 'cri.sock'), runtime: docker, images: docker });
  await criServer.start();
  cleanups.push(() => criServer.stop());
  const cri = new CriClient({ socketPath: path.join(rootDir, 'cri.sock') });
  cleanups.push(() => cri.close());
  cleanups.push(() => removeNodeContainers([node], network).catch(() => 0));
  const kubeletPort = await freePort();
  let current: { stop: AbortController; done: Promise<void>; k: Kubelet } | undefined;
  const server = trackSockets(createKubeletServer({
    runtime: cri, streaming: docker, pods: () => current?.k.podList() ?? [], logger: silentLogger(),
    ...(ca ? { tls: { ...serving!, clientCA: ca.cert }, auth: { nodeName: node, authenticator: kubeletAuthenticator({ x509: true, anonymous: false }) } } : {}),
  }));
  await new Promise<void>((r) => server.listen(kubeletPort, '127.0.0.1', () => r()));
  cleanups.push(() => closeServer(server));
  const startKubelet = () => {
    const k = new Kubelet({
      client, runtime: cri, images: cri, rootDir, nodeName: node, nodeIP: opts.nodeIP ?? '127.0.0.1', kubeletPort, runtimeVersion: 'docker://kubemu',
      cpu: '2', memory: '2Gi', syncIntervalMs: 300, backoffInitialMs: 500, backoffMaxMs: 2000,
    });
    const stop = new AbortController();
    current = { stop, done: k.run(stop.signal), k };
  };
  const stopKubelet = async () => { current?.stop.abort(); await current?.done; current = undefined; };
  cleanups.push(stopKubelet);
  const kubeconfig = path.join(rootDir, 'kubeconfig');
  fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url }));
  const kubectl: DockerKubelet['kubectl'] = (args, o = {}) => new Promise((resolve, reject) => {
    const child = execFile(o.bin ?? 'kubectl', ['--kubeconfig', kubeconfig, ...args],
      { encoding: 'utf8', env: { ...process.env, HOME: rootDir }, timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => (err ? reject(Object.assign(err, { stdout, stderr })) : resolve(stdout)));
    if (o.input !== undefined) child.stdin!.end(o.input); else child.stdin!.end();
  });
  const dockerIds = async (label: string) => (await run('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=io.kubemu.node=${node}`, '--filter', `label=${label}`]))
    .stdout.split('\n').filter(Boolean).sort();
  startKubelet();
  const kubeletUrl = `${ca ? 'https' : 'http'}://127.0.0.1:${kubeletPort}`;
  return { api, client, node, network, rootDir, kubeconfig, docker, kubelet: () => current?.k, kubectl, dockerIds, startKubelet, stopKubelet, kubeletUrl, ca };
}

/** Where another kubectl version sits: kubectl.1.27 … beside the binary `kubectl` names. */
export function kubectlVersion(minor: number): string {
  const real = fs.realpathSync(execFileSync('bash', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim());
  const p = path.join(path.dirname(real), `kubectl.1.${minor}`);
  if (!fs.existsSync(p)) throw new Error(`kubectl 1.${minor} not found at ${p}`);
  return p;
}
