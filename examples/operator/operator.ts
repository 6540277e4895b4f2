// A small operator for the WebApp kind of examples/crd/webapp-crd.yaml, written as one is written against a real
// cluster: @kubernetes/client-node's informers over the custom kind and over Deployments, one reconcile function,
// KubernetesObjectApi for the Deployment it owns, and the status subresource for what it observed.
//   KUBECONFIG=… node --import tsx examples/operator/operator.ts
// Each WebApp becomes a Deployment of the same name (owned by it, so deleting the WebApp deletes it through the
// garbage collector); the WebApp's status says how many replicas are ready, the selector (for `kubectl scale`), and
// a phase: Running once every replica is ready, Pending before.
import * as k8s from '@kubernetes/client-node';

const GROUP = 'demo.kubemu.io', VERSION = 'v1', PLURAL = 'webapps';
const MANAGER = 'webapp-operator';

interface WebApp extends k8s.KubernetesObject {
  spec: { image: string; replicas: number; port?: number | string };
  status?: { replicas?: number; selector?: string; phase?: string; observedGeneration?: number };
}

const kc = new k8s.KubeConfig();
kc.loadFromDefault();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
const log = (msg: string) => console.log(`${new Date().toISOString()} ${msg}`);

const webapps = k8s.makeInformer<WebApp>(kc, `/apis/${GROUP}/${VERSION}/${PLURAL}`,
  () => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }) as Promise<k8s.KubernetesListObject<WebApp>>);
const deployments = k8s.makeInformer(kc, '/apis/apps/v1/deployments', () => apps.listDeploymentForAllNamespaces());

/** The Deployment a WebApp asks for. */
function desiredDeployment(app: WebApp): k8s.V1Deployment {
  const { name, namespace, uid } = app.metadata!;
  const labels = { webapp: name! };
  const ports = typeof app.spec.port === 'number' ? [{ containerPort: app.spec.port }] : undefined;
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, namespace, labels, ownerReferences: [{ apiVersion: `${GROUP}/${VERSION}`, kind: 'WebApp', name: name!, uid: uid!, controller: true, blockOwnerDeletion: true }] },
    spec: { replicas: app.spec.replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: app.spec.image, ports }] } } },
  };
}

/** Make the world match one WebApp: its Deployment exists and is as specified, its status says what is observed. */
async function reconcile(namespace: string, name: string): Promise<void> {
  const app = webapps.list(namespace).find((a) => a.metadata?.name === name);
  if (!app || app.metadata?.deletionTimestamp) return; // gone: the garbage collector removes the Deployment
  const want = desiredDeployment(app);
  let have: k8s.V1Deployment | undefined;
  try { have = await objects.read<k8s.V1Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace } }); } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
  if (!have) {
    have = await objects.create(want);
    log(`created deployment ${namespace}/${name}`);
  } else if (have.spec?.replicas !== want.spec!.replicas || have.spec?.template.spec?.containers[0]?.image !== app.spec.image) {
    have = await objects.patch(want, undefined, undefined, MANAGER, undefined, k8s.PatchStrategy.MergePatch);
    log(`updated deployment ${namespace}/${name}`);
  }
  const ready = have.status?.readyReplicas ?? 0;
  const status = { replicas: ready, selector: `webapp=${name}`, phase: ready >= app.spec.replicas ? 'Running' : 'Pending', observedGeneration: app.metadata!.generation };
  if (JSON.stringify({ ...app.status }) === JSON.stringify({ ...app.status, ...status })) return;
  await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  log(`status of webapp ${namespace}/${name}: ${status.phase}, ${ready}/${app.spec.replicas} ready`);
}

// One worker, one queue of namespace/name keys: a key queued while it is reconciled runs again after.
const queue = new Set<string>();
let working = false;
function enqueue(namespace: string | undefined, name: string | undefined): void {
  if (!namespace || !name) return;
  queue.add(`${namespace}/${name}`);
  if (!working) void work();
}
async function work(): Promise<void> {
  working = true;
  while (queue.size) {
    const key = queue.values().next().value!;
    queue.delete(key);
    const [namespace, name] = key.split('/') as [string, string];
    try { await reconcile(namespace, name); } catch (err) {
      log(`reconcile ${key} failed, retrying: ${(err as Error).message}`);
      setTimeout(() => enqueue(namespace, name), 1000);
    }
  }
  working = false;
}

const onApp = (a: WebApp) => enqueue(a.metadata?.namespace, a.metadata?.name);
webapps.on('add', onApp);
webapps.on('update', onApp);
const onDeployment = (d: k8s.V1Deployment) => {
  const owner = d.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'WebApp' && r.apiVersion === `${GROUP}/${VERSION}`);
  if (owner) enqueue(d.metadata?.namespace, owner.name);
};
deployments.on('add', onDeployment);
deployments.on('update', onDeployment);
for (const inf of [webapps, deployments]) {
  // client-node's informer stops on an error; start it again after a moment, as its examples do
  inf.on('error', (err: unknown) => { log(`watch error: ${(err as Error)?.message ?? err}; restarting`); setTimeout(() => void inf.start(), 2000); });
}
await webapps.start();
await deployments.start();
log('webapp-operator started');
process.on('SIGTERM', () => { void webapps.stop(); void deployments.stop(); process.exit(0); });
