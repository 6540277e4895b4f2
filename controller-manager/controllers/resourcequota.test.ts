// ResourceQuota and LimitRange end to end inside one process: the real apiserver's admission plugins and the
// resourcequota controller against it. A quota of 2 pods refuses the third with Kubernetes' message, concurrent
// creates never overrun a quota, deleting frees the share, LimitRange defaults and limits apply.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { R } from '../informers.ts';
import { controllerTestbed, until, type ControllerTestbed } from '../test-helpers.ts';
import { newResourceQuotaController } from './resourcequota.ts';

const pod = (name: string, resources?: object): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'x', ...(resources ? { resources } : {}) }] } }) as KubeObject;
const quota = (name: string, hard: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard } }) as KubeObject;
const refusal = async (p: Promise<unknown>) => { try { await p; } catch (err) { return err as { code: string; message: string }; } assert.fail('accepted'); };

describe('ResourceQuota and LimitRange', () => {
  let tb: ControllerTestbed;
  const ns = async (name: string) => { await tb.client.create(R.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }); return name; };
  const synced = (n: string, q: string) => until(`quota ${q} counted`, async () => (await tb.client.get(R.resourcequotas, n, q)).status?.used);

  before(async () => { tb = await controllerTestbed(newResourceQuotaController); });
  after(() => tb.stop());

  test('a quota of 2 pods refuses the third with Kubernetes\' message; a deleted pod frees its share', async () => {
    const n = await ns('q2');
    await tb.client.create(R.resourcequotas, n, quota('pods', { pods: '2' }));
    await synced(n, 'pods');
    await tb.client.create(R.pods, n, pod('p1'));
    await tb.client.create(R.pods, n, pod('p2'));
    const err = await refusal(tb.client.create(R.pods, n, pod('p3')));
    assert.equal(err.code, 'Forbidden');
    assert.equal(err.message, 'pods "p3" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2');
    await tb.client.delete(R.pods, n, 'p1', { gracePeriodSeconds: 0 });
    await until('the share freed', async () => (await tb.client.get(R.resourcequotas, n, 'pods')).status?.used?.pods === '1');
    await tb.client.create(R.pods, n, pod('p3'));
  });

  test('concurrent creates never overrun a quota', async () => {
    const n = await ns('qc');
    await tb.client.create(R.resourcequotas, n, quota('a', { pods: '5' }));
    await tb.client.create(R.resourcequotas, n, quota('b', { 'count/pods': '7' }));
    await synced(n, 'a'); await synced(n, 'b');
    const results = await Promise.allSettled([...Array(12).keys()].map((i) => tb.client.create(R.pods, n, pod(`p${i}`))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
    assert.ok(results.every((r) => r.status === 'fulfilled' || /exceeded quota: a/.test((r.reason as Error).message)));
    assert.equal((await tb.client.list(R.pods, n)).items.length, 5);
    assert.equal((await tb.client.get(R.resourcequotas, n, 'a')).status.used.pods, '5');
  });

  test('compute quotas: requests and limits charged, a container without them refused, scopes respected', async () => {
    const n = await ns('qcpu');
    await tb.client.create(R.resourcequotas, n, quota('compute', { 'requests.cpu': '1', 'limits.memory': '1Gi' }));
    await tb.client.create(R.resourcequotas, n, { ...quota('besteffort', { pods: '1' }), spec: { hard: { pods: '1' }, scopes: ['BestEffort'] } } as KubeObject);
    await synced(n, 'compute'); await synced(n, 'besteffort');
    const bare = await refusal(tb.client.create(R.pods, n, pod('bare')));
    assert.equal(bare.message, 'pods "bare" is forbidden: failed quota: compute: must specify limits.memory for: c; requests.cpu for: c');
    await tb.client.create(R.pods, n, pod('a', { requests: { cpu: '600m' }, limits: { memory: '512Mi' } }));
    const over = await refusal(tb.client.create(R.pods, n, pod('b', { requests: { cpu: '600m' }, limits: { memory: '256Mi' } })));
    assert.equal(over.message, 'pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1');
    const q = await until('used', async () => { const o = await tb.client.get(R.resourcequotas, n, 'compute'); return o.status.used['limits.memory'] === '512Mi' ? o : undefined; });
    assert.deepEqual(q!.status.used, { 'requests.cpu': '600m', 'limits.memory': '512Mi' });
    // The BestEffort quota counts no Burstable pod.
    assert.equal((await tb.client.get(R.resourcequotas, n, 'besteffort')).status.used.pods, '0');
  });

  test('a deleted ConfigMap frees its count', async () => {
    const n = await ns('qcm');
    await tb.client.create(R.resourcequotas, n, quota('cm', { 'count/configmaps': '1' }));
    await synced(n, 'cm');
    await tb.client.create(R.configmaps, n, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } } as KubeObject);
    const err = await refusal(tb.client.create(R.configmaps, n, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } } as KubeObject));
    assert.equal(err.message, 'configmaps "b" is forbidden: exceeded quota: cm, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1');
    await tb.client.delete(R.configmaps, n, 'a');
    await until('freed', async () => (await tb.client.get(R.resourcequotas, n, 'cm')).status?.used?.['count/configmaps'] === '0');
    await tb.client.create(R.configmaps, n, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } } as KubeObject);
  });

  test('an update that costs more is charged: a Service turned NodePort', async () => {
    const n = await ns('qsvc');
    await tb.client.create(R.resourcequotas, n, quota('np', { 'services.nodeports': '1', services: '2' }));
    await synced(n, 'np');
    await tb.client.create(R.services, n, { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] } } as KubeObject);
    const err = await refusal(tb.client.patch(R.services, n, 's', { spec: { type: 'NodePort' } }));
    assert.equal(err.message, 'services "s" is forbidden: exceeded quota: np, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1');
    await until('services counted', async () => (await tb.client.get(R.resourcequotas, n, 'np')).status?.used?.services === '1');
  });

  test('LimitRange: defaults on a pod that sets none, the annotation, min/max refusals', async () => {
    const n = await ns('lr');
    await tb.client.create(R.limitranges, n, {
      apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'lr' },
      spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '128Mi' }, defaultRequest: { cpu: '100m' }, max: { cpu: '1' }, min: { cpu: '50m' } }] },
    } as KubeObject);
    const lr = await tb.client.get(R.limitranges, n, 'lr');
    assert.deepEqual(lr.spec.limits[0].defaultRequest, { cpu: '100m', memory: '128Mi' }, 'a default limit is the default request too');
    const p = await tb.client.create(R.pods, n, pod('d'));
    assert.deepEqual(p.spec.containers[0].resources, { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
    assert.equal(p.metadata.annotations?.['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: cpu, memory request for container c; cpu, memory limit for container c');
    const big = await refusal(tb.client.create(R.pods, n, pod('big', { limits: { cpu: '2' } })));
    assert.equal(big.message, 'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
    const small = await refusal(tb.client.create(R.pods, n, pod('small', { requests: { cpu: '10m' } })));
    assert.equal(small.message, 'pods "small" is forbidden: minimum cpu usage per Container is 50m, but request is 10m');
    const bad = await refusal(tb.client.create(R.limitranges, n, {
      apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'bad' }, spec: { limits: [{ type: 'Container', min: { cpu: '2' }, max: { cpu: '1' } }] },
    } as KubeObject));
    assert.equal(bad.code, 'Invalid');
    assert.match(bad.message, /spec\.limits\[0\]\.min\[cpu\]: Invalid value: "2": min value 2 is greater than max value 1/);
  });
});
