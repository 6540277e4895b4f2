// npm run bench:apiserver — one run on one fresh etcd:
//   1. raw etcd puts/s (etcd3 client, concurrency 64, ~1 KiB values): the baseline;
//   2. pod creates/s through the REST API and through gRPC at the same concurrency;
//   3. latency from a write to its watch event at 1, 10 and 100 REST watchers.
// Prints a table, then one JSON line with every figure and ratio.
//   4. custom-resource creates/s (a CRD with a structural schema, defaults and a CEL rule) beside pod creates/s.
// Targets (issue "API machinery"): API creates/s ≥ 50% of raw etcd puts/s; watch p99 ≤ 50 ms at 100 watchers;
// (issue "API second wave") custom-resource creates/s ≥ 0.8 × built-in (pod) creates/s through REST.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { Pool } from 'undici';
import { startEtcd } from '../lib/etcd-process.ts';
import { createCA, issueCertificate } from '../lib/pki.ts';
import { freePort } from '../lib/free-port.ts';
import { spawnApiServer } from '../test/harness/apiserver-process.ts';
import { createApiClient } from '../client/index.ts';
import type { ApiClient, ClientTls } from '../client/api-client.ts';
import type { KubeObject } from '../api/types.ts';
import { kindsOf } from '../api/custom-kinds.ts';
import { setCustomKinds } from '../api/resources.ts';

const CONCURRENCY = 64;
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000;
const WATCH_WRITES = 200;

const PODS = { group: '', resource: 'pods' };

function podManifest(name: string): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'bench', labels: { app: 'bench', run: name } },
    spec: {
      containers: [{
        name: 'app', image: 'kubemu/hello:1',
        env: [{ name: 'PAD', value: 'x'.repeat(400) }],
        ports: [{ containerPort: 8080 }],
        resources: { requests: { cpu: '10m', memory: '16Mi' } },
      }],
    },
  };
}

const WIDGETS = { group: 'bench.kubemu.io', resource: 'widgets' };

const WIDGET_CRD: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.bench.kubemu.io' },
  spec: {
    group: 'bench.kubemu.io', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' },
    versions: [{
      name: 'v1', served: true, storage: true, subresources: { status: {} },
      schema: { openAPIV3Schema: { type: 'object', properties: { spec: {
        type: 'object', required: ['image'],
        'x-kubernetes-validations': [{ rule: 'self.replicas <= 10', message: 'at most 10 replicas' }],
        properties: {
          image: { type: 'string', pattern: '^[a-z0-9./:-]+$' }, replicas: { type: 'integer', minimum: 0, default: 1 },
          port: { type: 'integer', default: 8080 },
          env: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, value: { type: 'string' } } } },
        },
      } } } },
    }],
  },
};

/** A custom object about the size of podManifest's pod. */
function widgetManifest(name: string): KubeObject {
  return {
    apiVersion: 'bench.kubemu.io/v1', kind: 'Widget', metadata: { name, namespace: 'bench', labels: { app: 'bench', run: name } },
    spec: { image: 'kubemu/hello:1', env: [{ name: 'PAD', value: 'x'.repeat(400) }] },
  };
}

/** Run `op(i)` from `concurrency` loops for `durationMs`; returns completed ops per second. */
async function throughput(concurrency: number, durationMs: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  let done = 0;
  const end = Date.now() + durationMs;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      await op(next++);
      done++;
    }
  }));
  return done / ((performance.now() - start) / 1000);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function rawEtcd(endpoint: string): Promise<number> {
  const etcd = new Etcd3({ hosts: endpoint, grpcOptions: { 'grpc.max_receive_message_length': 64 << 20 } });
  const value = JSON.stringify(podManifest('raw'));
  const rate = await throughput(CONCURRENCY, DURATION_MS, (i) => etcd.put(`/bench-raw/pods/bench/p${i}`).value(value).exec());
  await etcd.delete().prefix('/bench-raw/');
  etcd.close();
  return rate;
}

async function apiCreates(client: ApiClient, prefix: string): Promise<number> {
  return throughput(CONCURRENCY, DURATION_MS, (i) => client.create(PODS, 'bench', podManifest(`${prefix}-${i}`)));
}

/** Open `n` REST watches on pods in namespace watch-<n>, write WATCH_WRITES configmaps-free pod creates, time each event. */
async function watchLatency(url: string, client: ApiClient, n: number, tls?: ClientTls): Promise<{ p50: number; p99: number }> {
  const ns = `watch-${n}`;
  await client.create({ group: '', resource: 'namespaces' }, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const list = await client.list(PODS, ns);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const pool = new Pool(url, { connections: n + 4, pipelining: 0, ...(tls ? { connect: { ca: tls.ca, cert: tls.cert, key: tls.key } } : {}) });
  let remaining = n * WATCH_WRITES;
  let allSeen!: () => void;
  const seen = new Promise<void>((resolve) => { allSeen = resolve; });
  const aborts: AbortController[] = [];
  const opened: Promise<void>[] = [];
  for (let w = 0; w < n; w++) {
    const ac = new AbortController();
    aborts.push(ac);
    opened.push((async () => {
      const res = await pool.request({
        method: 'GET', path: `/api/v1/namespaces/${ns}/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
        signal: ac.signal,
      });
      void (async () => {
        let buf = '';
        try {
          for await (const chunk of res.body) {
            const now = performance.now();
            buf += chunk.toString();
            let nl;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (!line.trim()) continue;
              const ev = JSON.parse(line);
              const t0 = sentAt.get(ev.object?.metadata?.name);
              if (ev.type === 'ADDED' && t0 !== undefined) {
                latencies.push(now - t0);
                if (--remaining === 0) allSeen();
              }
            }
          }
        } catch { /* aborted */ }
      })();
    })());
  }
  await Promise.all(opened);
  await new Promise((r) => setTimeout(r, 200)); // let every watch register
  for (let i = 0; i < WATCH_WRITES; i++) {
    const name = `w${i}`;
    sentAt.set(name, performance.now());
    await client.create(PODS, ns, { ...podManifest(name), metadata: { name, namespace: ns } });
  }
  await Promise.race([seen, new Promise((r) => setTimeout(r, 30_000))]);
  for (const ac of aborts) ac.abort();
  await pool.destroy();
  if (remaining > 0) throw new Error(`${remaining} watch events never arrived at ${n} watchers`);
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 50), p99: pct(latencies, 99) };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-bench-'));
  const etcd = await startEtcd({ dataDir: path.join(dir, 'etcd'), logFile: path.join(dir, 'etcd.log') });
  // The apiserver runs as its own process (as in a cluster), so it does not share an event loop with the load. It
  // serves as `kubemu up` runs it — HTTPS and gRPC over TLS, clients with certificates — plus the plain-HTTP insecure
  // port, so HTTPS and plain HTTP are measured against the same process in the same run.
  const ca = await createCA();
  const serving = await issueCertificate(ca, { commonName: 'kube-apiserver', usage: 'server', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  const admin = await issueCertificate(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' });
  const file = (name: string, text: string) => { fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 }); return path.join(dir, name); };
  const insecurePort = await freePort();
  const api = await spawnApiServer(etcd.endpoint, undefined, {
    tls: { certFile: file('apiserver.crt', serving.cert), keyFile: file('apiserver.key', serving.key), caFile: file('ca.crt', ca.cert) },
    args: ['--insecure-port', String(insecurePort)],
  });
  const tls = { ca: ca.cert, cert: admin.cert, key: admin.key };
  const http = createApiClient({ transport: 'http', server: api.url, tls });
  const plain = createApiClient({ transport: 'http', server: `http://127.0.0.1:${insecurePort}` });
  const grpc = createApiClient({ transport: 'grpc', server: api.grpcAddress, tls });
  try {
    await http.create({ group: '', resource: 'namespaces' }, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    process.stderr.write('raw etcd puts …\n');
    const etcdPuts = await rawEtcd(etcd.endpoint);
    // A warm-up on each transport first (TLS handshakes for every connection, the JIT): the rows compare steady states.
    process.stderr.write('warm-up …\n');
    for (const [c, p] of [[http, 'warm-https'], [plain, 'warm-http'], [grpc, 'warm-grpc']] as const) {
      await throughput(CONCURRENCY, 1000, (i) => c.create(PODS, 'bench', podManifest(`${p}-${i}`)));
    }
    process.stderr.write('REST creates …\n');
    const restCreates = await apiCreates(http, 'rest');
    process.stderr.write('REST creates over plain HTTP …\n');
    const plainCreates = await apiCreates(plain, 'plain');
    process.stderr.write('gRPC creates …\n');
    const grpcCreates = await apiCreates(grpc, 'grpc');
    process.stderr.write('custom-resource creates …\n');
    await http.create({ group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' }, undefined, WIDGET_CRD);
    setCustomKinds('widgets.bench.kubemu.io', kindsOf(WIDGET_CRD)); // this process's client learns the kind, as a controller's does
    for (let i = 0; ; i++) { // served within a moment of its creation
      if (await http.list(WIDGETS, 'bench').then(() => true, () => false)) break;
      if (i > 100) throw new Error('the Widget kind was not served within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const customCreates = await throughput(CONCURRENCY, DURATION_MS, (i) => http.create(WIDGETS, 'bench', widgetManifest(`w-${i}`)));
    const watch: Record<string, { p50: number; p99: number }> = {};
    for (const n of [1, 10, 100]) {
      process.stderr.write(`watch latency at ${n} watchers …\n`);
      watch[n] = await watchLatency(api.url, http, n, tls);
    }

    const f = (x: number) => x.toFixed(0).padStart(8);
    const ms = (x: number) => x.toFixed(2).padStart(8);
    console.log(`\nkubemu apiserver benchmark (concurrency ${CONCURRENCY}, ${DURATION_MS / 1000} s per run, ${os.cpus().length} cores; apiserver as its own process, same etcd for every row)\n`);
    console.log('what                                  ops/s   vs raw etcd');
    console.log(`raw etcd puts (etcd3 client)       ${f(etcdPuts)}        1.00`);
    console.log(`pod creates via REST (HTTPS)       ${f(restCreates)}   ${(restCreates / etcdPuts).toFixed(2).padStart(9)}`);
    console.log(`pod creates via REST (plain HTTP)  ${f(plainCreates)}   ${(plainCreates / etcdPuts).toFixed(2).padStart(9)}   (the insecure port, same process)`);
    console.log(`pod creates via gRPC (TLS)         ${f(grpcCreates)}   ${(grpcCreates / etcdPuts).toFixed(2).padStart(9)}`);
    console.log(`custom-resource creates via REST   ${f(customCreates)}   ${(customCreates / etcdPuts).toFixed(2).padStart(9)}   (${(customCreates / restCreates).toFixed(2)} × pod creates)`);
    console.log('\nwrite → watch event latency (ms)    p50        p99');
    for (const n of [1, 10, 100]) console.log(`${String(n).padStart(3)} watchers                      ${ms(watch[n].p50)}   ${ms(watch[n].p99)}`);
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    console.log('\ntarget                                              measured   result');
    console.log(`REST creates ≥ 0.50 × raw etcd puts                   ${(restCreates / etcdPuts).toFixed(2).padStart(6)}   ${verdict(restCreates / etcdPuts >= 0.5)}`);
    console.log(`gRPC creates ≥ 0.50 × raw etcd puts                   ${(grpcCreates / etcdPuts).toFixed(2).padStart(6)}   ${verdict(grpcCreates / etcdPuts >= 0.5)}`);
    console.log(`REST creates over HTTPS ≥ 0.80 × plain HTTP             ${(restCreates / plainCreates).toFixed(2).padStart(6)}   ${verdict(restCreates / plainCreates >= 0.8)}`);
    console.log(`watch p99 ≤ 50 ms at 100 watchers                  ${ms(watch[100].p99)}   ${verdict(watch[100].p99 <= 50)}`);
    console.log(`custom-resource creates ≥ 0.80 × pod creates (REST)   ${(customCreates / restCreates).toFixed(2).padStart(6)}   ${verdict(customCreates / restCreates >= 0.8)}`);
    console.log(JSON.stringify({
      bench: 'apiserver', concurrency: CONCURRENCY, seconds: DURATION_MS / 1000,
      etcdPutsPerSec: Math.round(etcdPuts), restCreatesPerSec: Math.round(restCreates), grpcCreatesPerSec: Math.round(grpcCreates),
      plainHttpCreatesPerSec: Math.round(plainCreates), httpsVsPlainHttp: +(restCreates / plainCreates).toFixed(3),
      restVsEtcd: +(restCreates / etcdPuts).toFixed(3), grpcVsEtcd: +(grpcCreates / etcdPuts).toFixed(3),
      customCreatesPerSec: Math.round(customCreates), customVsPodCreates: +(customCreates / restCreates).toFixed(3),
      watchLatencyMs: Object.fromEntries(Object.entries(watch).map(([n, v]) => [n, { p50: +v.p50.toFixed(2), p99: +v.p99.toFixed(2) }])),
    }));
  } finally {
    await http.close();
    await plain.close();
    await grpc.close();
    await api.kill();
    await etcd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
