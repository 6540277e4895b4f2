// Storage end to end on one `kubemu up` cluster (2 Docker nodes) with the real kubectl: the default class `standard`
// provisions a claim once a pod uses it (WaitForFirstConsumer), the data outlives the pod, a claim in use stays
// Terminating until its pod is gone, Delete reclaim removes the volume and its directory, Retain keeps both
// (Released), a StatefulSet's replicas keep their own claims across scale-down and up and a pod deletion, the data
// survives `kubemu down && kubemu up`, an ephemeral volume's claim goes with its pod, and bad input is refused or reported with Kubernetes' words.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { kubemu, startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';

const NAME = `sto${process.pid % 10000}`;
const IMAGE = 'kubemu/busybox:1';

type Obj = Record<string, any>;

const pod = (name: string, claim: string, script: string, extra: Obj = {}) => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name },
  spec: {
    terminationGracePeriodSeconds: 0, ...extra,
    containers: [{ name: 'c', image: IMAGE, command: ['sh', '-c', script], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
  },
});
const claim = (name: string, spec: Obj) => JSON.stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec } });

describe('storage: claims, volumes, classes and StatefulSet storage (real kubectl, real Docker)', () => {
  let c: KubemuCluster;
  const apply = async (...docs: string[]) => {
    const file = path.join(c.dir, `apply-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs.map((d) => JSON.parse(d)) }));
    return c.kubectl('apply', '-f', file);
  };
  const get = async (what: string): Promise<Obj> => JSON.parse(await c.kubectl('get', ...what.split(' '), '-o', 'json'));
  const phase = async (what: string) => (await get(what).catch(() => undefined))?.status?.phase;
  const eventsOf = async (name: string) => (JSON.parse(await c.kubectl('get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'json')).items as Obj[]).map((e) => `${e.reason}: ${e.message}`);
  const running = (name: string) => until(`pod ${name} Running`, async () => (await phase(`pod/${name}`)) === 'Running', 120_000);
  const gone = (what: string) => until(`${what} gone`, async () => { try { await c.kubectl('get', what); return false; } catch { return true; } }, 120_000);
  const fails = async (fn: () => Promise<unknown>): Promise<string> => {
    try { await fn(); } catch (err) { return String((err as { stderr?: string }).stderr ?? err); }
    return assert.fail('expected kubectl to fail');
  };

  before(async () => { c = await startCluster(NAME, ['--nodes', '2']); });
  after(() => c?.down());

  test('the default class standard; a claim on it is provisioned and bound once a pod uses it; the data outlives the pod', async () => {
    const sc = await c.kubectl('get', 'sc');
    assert.match(sc, /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE$/m);
    assert.match(sc, /^standard \(default\)\s+kubemu\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+true\s+/m);

    await apply(claim('data', {}));
    const pending = await get('pvc/data');
    assert.equal(pending.spec.storageClassName, 'standard', 'DefaultStorageClass filled the class in');
    assert.deepEqual(pending.metadata.finalizers, ['kubernetes.io/pvc-protection']);
    await until('WaitForFirstConsumer event', async () => (await eventsOf('data')).includes('WaitForFirstConsumer: waiting for first consumer to be created before binding'));
    assert.equal(await phase('pvc/data'), 'Pending');

    await apply(pod('writer', 'data', 'echo hello > /data/file && sleep 3600'));
    await running('writer');
    const bound = await get('pvc/data');
    assert.equal(bound.status.phase, 'Bound');
    const pvName = bound.spec.volumeName;
    const pv = await get(`pv/${pvName}`);
    const node = (await get('pod/writer')).spec.nodeName;
    assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, [node], 'the volume is pinned to the pod\'s node');
    assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Delete');
    assert.deepEqual(pv.metadata.finalizers, ['kubernetes.io/pv-protection']);
    assert.ok((await eventsOf('data')).includes(`ProvisioningSucceeded: Successfully provisioned volume ${pvName}`));
    const dir = pv.spec.local.path;
    assert.equal(dir, path.join(c.dir, 'kubelet', node, 'local-path', pvName));
    await until('the file on the node\'s disk', async () => fs.existsSync(path.join(dir, 'file')));
    assert.equal(fs.readFileSync(path.join(dir, 'file'), 'utf8'), 'hello\n');

    const table = await c.kubectl('get', 'pv,pvc');
    assert.match(table, /NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE/);
    assert.match(table, new RegExp(`persistentvolume/${pvName}\\s+1Gi\\s+RWO\\s+Delete\\s+Bound\\s+default/data\\s+standard\\s+<unset>`));
    assert.match(table, /NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE/);
    assert.match(table, new RegExp(`persistentvolumeclaim/data\\s+Bound\\s+${pvName}\\s+1Gi\\s+RWO\\s+standard\\s+<unset>`));

    await c.kubectl('delete', 'pod', 'writer', '--wait=true');
    await apply(pod('reader', 'data', 'cat /data/file && sleep 3600'));
    await running('reader');
    await until('the new pod read the file', async () => (await c.kubectl('logs', 'reader')) === 'hello\n');
    assert.equal((await get('pod/reader')).spec.nodeName, node, 'the pod followed its volume to its node');

    // Growing the claim: standard allows expansion.
    await c.kubectl('patch', 'pvc', 'data', '-p', '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}');
    await until('the claim grew', async () => (await get('pvc/data')).status.capacity?.storage === '2Gi');
    assert.match(await fails(() => c.kubectl('patch', 'pvc', 'data', '-p', '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}')),
      /spec\.resources\.requests\.storage: Forbidden: field can not be less than status\.capacity/);

    // kubectl delete pvc of a claim in use: Terminating until the pod is gone; then Delete reclaim removes it all.
    await c.kubectl('delete', 'pvc', 'data', '--wait=false');
    const terminating = await c.kubectl('get', 'pvc', 'data');
    assert.match(terminating, /^data\s+Terminating\s+/m);
    await new Promise((r) => setTimeout(r, 2000));
    assert.match(await c.kubectl('get', 'pvc', 'data'), /^data\s+Terminating\s+/m, 'still there while the pod uses it');
    await c.kubectl('delete', 'pod', 'reader', '--wait=true');
    await gone('pvc/data');
    await gone(`pv/${pvName}`);
    assert.equal(fs.existsSync(dir), false, 'the helper pod removed the directory');
  });

  test('Retain: once its claim is deleted the volume is Released and its data stays', async () => {
    await apply(JSON.stringify({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'keep' }, provisioner: 'kubemu.io/local-path', reclaimPolicy: 'Retain' }));
    await apply(claim('kept', { storageClassName: 'keep' }));
    await until('an Immediate claim bound without a pod', async () => (await phase('pvc/kept')) === 'Bound');
    const pvName = (await get('pvc/kept')).spec.volumeName;
    assert.match(await fails(() => c.kubectl('patch', 'pvc', 'kept', '-p', '{"spec":{"resources":{"requests":{"storage":"5Gi"}}}}')),
      /only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize/);
    await apply(pod('keeper', 'kept', 'echo kept > /data/file && sleep 3600'));
    await running('keeper');
    const dir = (await get(`pv/${pvName}`)).spec.local.path;
    await until('the file written', async () => fs.existsSync(path.join(dir, 'file')));
    await c.kubectl('delete', 'pod', 'keeper', '--wait=true');
    await c.kubectl('delete', 'pvc', 'kept', '--wait=true');
    await until('the volume Released', async () => (await phase(`pv/${pvName}`)) === 'Released');
    assert.match(await c.kubectl('get', 'pv', pvName), new RegExp(`${pvName}\\s+1Gi\\s+RWO\\s+Retain\\s+Released\\s+default/kept\\s+keep`));
    assert.equal(fs.readFileSync(path.join(dir, 'file'), 'utf8'), 'kept\n');
    await c.kubectl('delete', 'pv', pvName, '--wait=true');
    assert.equal(fs.readFileSync(path.join(dir, 'file'), 'utf8'), 'kept\n', 'Retain: the data stays even after the PV object goes');
  });

  test('static volumes bind by size and class; bad input is refused or reported with Kubernetes\' words', async () => {
    const hostDir = path.join(c.dir, 'static');
    await apply(JSON.stringify({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'static-1g' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: hostDir, type: 'DirectoryOrCreate' } } }));
    await until('the static volume Available', async () => (await phase('pv/static-1g')) === 'Available');
    await apply(claim('small', { storageClassName: '', resources: { requests: { storage: '500Mi' } } }), claim('big', { storageClassName: '', resources: { requests: { storage: '100Gi' } } }));
    await until('the small claim bound to the static volume', async () => (await get('pvc/small')).spec.volumeName === 'static-1g' && (await phase('pvc/small')) === 'Bound');
    await until('the big claim told why', async () => (await eventsOf('big')).includes('FailedBinding: no persistent volumes available for this claim and no storage class is set'));
    assert.equal(await phase('pvc/big'), 'Pending');

    await apply(claim('unknown', { storageClassName: 'nope' }));
    await until('the unknown class reported', async () => (await eventsOf('unknown')).includes('ProvisioningFailed: storageclass.storage.k8s.io "nope" not found'));
    await apply(pod('stuck', 'unknown', 'sleep 3600'));
    await until('the pod Pending with the scheduler\'s reason', async () => (await get('pod/stuck')).status?.conditions?.some((x: Obj) => x.reason === 'Unschedulable' && x.message === '0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.'));

    const bad = await fails(() => apply(claim('bad', { accessModes: ['ReadWriteSometimes'], resources: { requests: { storage: '0' } } })));
    assert.match(bad, /spec\.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"/);
    assert.match(bad, /spec\.resources\[storage\]: Invalid value: "0": must be greater than zero/);
    assert.match(await fails(() => apply(claim('none', { accessModes: [] }))), /spec\.accessModes: Required value: at least 1 access mode is required/);
    assert.match(await fails(() => apply(claim('words', { resources: { requests: { storage: 'lots' } } }))), /quantities must match the regular expression/);

    await apply(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'badpath' }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: IMAGE, command: ['sleep', '3600'] }], volumes: [{ name: 'h', hostPath: { path: '/proc/kubemu-no/such', type: 'DirectoryOrCreate' } }] } }));
    await until('FailedMount for the hostPath that cannot be made', async () => (await eventsOf('badpath')).some((e) => /^FailedMount: MountVolume\.SetUp failed for volume "h" : mkdir \/proc\/kubemu-no\/such: /.test(e)));
    await c.kubectl('delete', 'pod', 'stuck', 'badpath', '--wait=true');
    await c.kubectl('delete', 'pvc', 'small', 'big', 'unknown', '--wait=true');
  });

  test('an ephemeral volume: a claim <pod>-<volume> owned by the pod, deleted with it', async () => {
    await apply(JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'eph' },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'c', image: IMAGE, command: ['sh', '-c', 'echo hi > /scratch/f && sleep 3600'], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
        volumes: [{ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Mi' } } } } } }],
      },
    }));
    await running('eph');
    const pvc = await get('pvc/eph-scratch');
    assert.equal(pvc.status.phase, 'Bound');
    assert.equal(pvc.metadata.ownerReferences[0].name, 'eph');
    assert.equal((await c.kubectl('exec', 'eph', '--', 'cat', '/scratch/f')).trim(), 'hi');
    await c.kubectl('delete', 'pod', 'eph', '--wait=true');
    await gone('pvc/eph-scratch');
  });

  test('a StatefulSet of 3: each replica keeps its own claim across scale 1 → 3, a pod deletion and kubemu down && up', async () => {
    await apply(JSON.stringify({
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web' },
      spec: {
        serviceName: 'web', replicas: 3, selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: IMAGE, command: ['sh', '-c', '[ -f /data/ord ] || echo $HOSTNAME > /data/ord; sleep 3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Mi' } } } }],
      },
    }));
    const ready = (n: number) => until(`${n} replicas ready`, async () => (await get('sts/web')).status?.readyReplicas === n && (await get('sts/web')).status?.replicas === n, 180_000);
    // (After a restart the set's status is the old one until the controller writes it: wait for each exec to work.)
    const ordinals = async (n: number) => {
      for (let i = 0; i < n; i++) assert.equal((await until(`web-${i} answers`, () => c.kubectl('exec', `web-${i}`, '--', 'cat', '/data/ord'), 120_000)).trim(), `web-${i}`);
    };
    await ready(3);
    await ordinals(3);
    const claims = async () => (await get('pvc -l app=web')).items.map((x: Obj) => x.metadata.name).sort();
    assert.deepEqual(await claims(), ['data-web-0', 'data-web-1', 'data-web-2']);
    const nodes = async () => Object.fromEntries(await Promise.all([0, 1, 2].map(async (i) => [i, (await get(`pod/web-${i}`)).spec.nodeName])));
    const placed = await nodes();

    await c.kubectl('scale', 'sts', 'web', '--replicas=1');
    await ready(1);
    await gone('pod/web-2');
    assert.deepEqual(await claims(), ['data-web-0', 'data-web-1', 'data-web-2'], 'claims kept on scale-down (whenScaled: Retain)');
    await c.kubectl('scale', 'sts', 'web', '--replicas=3');
    await ready(3);
    await ordinals(3);
    assert.deepEqual(await nodes(), placed, 'each pod went back to its volume\'s node');

    const uid = (await get('pod/web-1')).metadata.uid;
    await c.kubectl('delete', 'pod', 'web-1', '--wait=true');
    await until('a new web-1', async () => (await get('pod/web-1')).metadata.uid !== uid);
    await ready(3);
    await ordinals(3);

    const s = c.state();
    const down = kubemu(['down', '--dir', c.dir]);
    assert.equal(down.status, 0, down.stderr);
    const up = kubemu(['up', '--dir', c.dir, '--name', NAME, '--nodes', '2', '--port', new URL(s.apiserver).port, '--grpc-port', s.grpc.split(':').pop()!, '--dns-upstream', 'none']);
    assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
    await ready(3);
    await ordinals(3);
  });
});
