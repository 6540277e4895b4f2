// The app the Service e2e tests send traffic to: 3 replicas of kubemu/hello (answers with its pod
// name) with a readiness probe, behind a LoadBalancer Service (so it has a ClusterIP, a NodePort
// and an external address at once), and a busybox client pod.
import assert from 'node:assert/strict';
import type { KubemuCluster } from './kubemu-cluster.ts';
import { getOnce, hits, until } from './kubemu-cluster.ts';

type Obj = Record<string, any>;

/** The web Deployment alone: kubemu/hello (answers with its pod name) with a readiness probe. */
export const webDeployment = (replicas: number) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: hello
          image: kubemu/hello:1
          ports: [{ name: http, containerPort: 8080 }]
          readinessProbe: { httpGet: { path: /cgi-bin/healthz, port: http }, periodSeconds: 1 }
`;

export const WEB_APP = `${webDeployment(3)}---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  type: LoadBalancer
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - { name: sh, image: "kubemu/busybox:1", command: ["sleep", "3600"] }
`;

export interface WebService { clusterIP: string; nodePort: number; lbIP: string }

/** Ready pod names behind the web Service, from its Endpoints. */
export async function readyBackends(c: KubemuCluster, svc = 'web'): Promise<string[]> {
  const ep: Obj = JSON.parse(await c.kubectl('get', 'endpoints', svc, '-o', 'json'));
  return (ep.subsets ?? []).flatMap((s: Obj) => (s.addresses ?? []).map((a: Obj) => a.targetRef?.name)).sort();
}

export async function deployWebApp(c: KubemuCluster, file: string): Promise<WebService> {
  await c.kubectl('apply', '-f', file);
  await c.kubectl('rollout', 'status', 'deployment/web', '--timeout=120s');
  await until('3 ready endpoints', async () => (await readyBackends(c)).length === 3, 60_000);
  await c.kubectl('wait', '--for=condition=Ready', 'pod/client', '--timeout=120s');
  const svc: Obj = await until('a LoadBalancer address', async () => {
    const s = JSON.parse(await c.kubectl('get', 'svc', 'web', '-o', 'json'));
    return s.status?.loadBalancer?.ingress?.[0]?.ip && s;
  });
  return { clusterIP: svc.spec.clusterIP, nodePort: svc.spec.ports[0].nodePort, lbIP: svc.status.loadBalancer.ingress[0].ip };
}

/** n wget's in a row from inside the client pod, each a new connection. */
export async function podHits(c: KubemuCluster, url: string, n: number): Promise<string[]> {
  const out = await c.kubectl('exec', 'client', '--', 'sh', '-c', `for i in $(seq 1 ${n}); do timeout 5 wget -qO- ${url} || echo FAILED; done`);
  return out.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Resolves once a connection to `url` is refused (kube-proxy has seen the empty Endpoints), then checks the
 *  next is refused at once too. `proxySynced`, when given, is a surer sign that kube-proxy has written the
 *  empty Endpoints: in iptables mode a connection DNATed to a pod that is still dying can be refused by that
 *  pod (its server gone, its network not yet), and the next one, to a pod already gone, would hang. */
export async function refusedAtOnce(url: string, proxySynced?: () => Promise<boolean>): Promise<void> {
  const refused = async () => { try { await getOnce(url, 5000); return false; } catch (e) { return (e as NodeJS.ErrnoException).code === 'ECONNREFUSED'; } };
  if (proxySynced) await until('kube-proxy writing the empty Endpoints', proxySynced, 30_000);
  // Until kube-proxy has seen the empty Endpoints, a connection may still be accepted and then reset (its pods are gone).
  await until(`${url} refusing connections`, refused, 30_000);
  for (let i = 0; i < 3; i++) await assert.rejects(getOnce(url, 5000), { code: 'ECONNREFUSED' }, `${url} refused, not hanging`);
}

/** Scale web to n and wait until its Endpoints list n ready pods and `url` has answered from each of them. */
export async function scaleWeb(c: KubemuCluster, n: number, url: string): Promise<string[]> {
  await c.kubectl('scale', 'deployment/web', `--replicas=${n}`);
  await until(`${n} ready endpoints`, async () => (await readyBackends(c)).length === n, 120_000);
  const pods = await readyBackends(c);
  if (n > 0) await until('kube-proxy following the endpoints', async () => new Set(await hits(url, n)).size === n, 15_000);
  return pods;
}
