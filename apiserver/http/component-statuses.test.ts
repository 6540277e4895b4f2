// `kubectl get cs` against a real apiserver over a real etcd: etcd's own health, the scheduler and the
// controller manager from their leader Leases.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { kubectlApiServer, type KubectlApiServer } from '../../test/harness/apiserver.ts';

describe('componentstatuses', () => {
  const cleanups: Array<() => unknown> = [];
  let api: KubectlApiServer;
  let kubeconfig: string;
  before(async () => {
    api = await kubectlApiServer({ after: (fn) => cleanups.push(fn) }, 'cs');
    ({ kubeconfig } = api);
    // A scheduler leading right now; no controller manager has ever led.
    const micro = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const res = await fetch(`${api.url}/apis/coordination.k8s.io/v1/namespaces/kube-system/leases`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'kube-scheduler' },
        spec: { holderIdentity: 'host_abc_1', leaseDurationSeconds: 15, acquireTime: micro, renewTime: micro } }),
    });
    const text = await res.text();
    assert.equal(res.status, 201, text);
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  test('list: scheduler healthy from its Lease, controller-manager unhealthy without one, etcd-0 from etcd\'s /health', async () => {
    const res = await fetch(`${api.url}/api/v1/componentstatuses`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('warning'), '299 - "v1 ComponentStatus is deprecated in v1.19+"');
    const list = await res.json() as any;
    assert.equal(list.kind, 'ComponentStatusList');
    const by = Object.fromEntries(list.items.map((i: any) => [i.metadata.name, i.conditions[0]]));
    assert.deepEqual(Object.keys(by), ['scheduler', 'controller-manager', 'etcd-0']);
    assert.deepEqual(by.scheduler, { type: 'Healthy', status: 'True', message: 'ok' });
    assert.equal(by['controller-manager'].status, 'False');
    assert.equal(by['controller-manager'].message, undefined);
    assert.match(by['controller-manager'].error, /Lease kube-system\/kube-controller-manager does not exist/);
    assert.equal(by['etcd-0'].status, 'True');
    const etcdSays = (await (await fetch(`${api.etcd.endpoint}/health`)).text()).trim();
    assert.equal(by['etcd-0'].message, etcdSays);
  });

  test('get one; an unknown one is 404; writes are 405', async () => {
    const one = await (await fetch(`${api.url}/api/v1/componentstatuses/etcd-0`)).json() as any;
    assert.equal(one.kind, 'ComponentStatus');
    assert.equal(one.metadata.name, 'etcd-0');
    assert.equal((await fetch(`${api.url}/api/v1/componentstatuses/nope`)).status, 404);
    assert.equal((await fetch(`${api.url}/api/v1/componentstatuses`, { method: 'POST', body: '{}' })).status, 405);
  });

  test('kubectl get cs prints the table', async () => {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile('kubectl', ['--kubeconfig', kubeconfig, 'get', 'cs'], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve({ stdout, stderr })));
    });
    assert.match(stderr, /Warning: v1 ComponentStatus is deprecated in v1\.19\+/);
    const lines = stdout.trim().split('\n');
    assert.match(lines[0], /^NAME\s+STATUS\s+MESSAGE\s+ERROR$/);
    assert.match(lines[1], /^scheduler\s+Healthy\s+ok\s*$/);
    assert.match(lines[2], /^controller-manager\s+Unhealthy\s+no leader: Lease kube-system\/kube-controller-manager does not exist/);
    assert.match(lines[3], /^etcd-0\s+Healthy\s+\{"health":"true"/);
  });
});
