// examples/operator on a hollow kubemu cluster: the operator (a separate process using @kubernetes/client-node)
// turns a WebApp into a Deployment whose pods run on the fake runtime, writes the WebApp's status, follows
// `kubectl scale webapp`, and the WebApp's deletion takes the Deployment (the garbage collector, in the controller
// manager's process, learns the custom owner kind from the CRD).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT, startCluster, until, type KubemuCluster } from '../../test/harness/kubemu-cluster.ts';

describe('examples/operator', () => {
  let c: KubemuCluster;
  let operator: ChildProcess;
  let output = '';
  const json = async (...args: string[]) => JSON.parse(await c.kubectl(...args, '-o', 'json'));

  before(async () => {
    c = await startCluster(`op${process.pid % 10000}`, ['--runtime', 'fake', '--nodes', '1']);
    await c.kubectl('apply', '-f', path.join(ROOT, 'examples/crd/webapp-crd.yaml'));
    await c.kubectl('wait', '--for=condition=Established', 'crd/webapps.demo.kubemu.io', '--timeout=30s');
    operator = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'examples/operator/operator.ts')],
      { cwd: ROOT, env: { ...process.env, KUBECONFIG: path.join(c.dir, 'kubeconfig') } });
    operator.stdout!.on('data', (d) => { output += d; });
    operator.stderr!.on('data', (d) => { output += d; });
    await until('the operator started', async () => /webapp-operator started/.test(output));
  });
  after(() => { operator?.kill(); c?.down(); });

  test('a WebApp becomes a Deployment; status, scale and deletion follow', async () => {
    await c.kubectl('apply', '-f', path.join(ROOT, 'examples/crd/webapp.yaml'));
    const d = await until('the Deployment', () => json('get', 'deployment', 'hello'));
    assert.equal(d.spec.replicas, 2);
    assert.equal(d.spec.template.spec.containers[0].image, 'kubemu/hello:1');
    assert.equal(d.metadata.ownerReferences[0].kind, 'WebApp');
    const running = await until('the WebApp Running', async () => { const w = await json('get', 'webapp', 'hello'); return w.status?.phase === 'Running' && w; }, 120_000);
    assert.equal(running.status.replicas, 2);
    assert.match(await c.kubectl('get', 'webapps'), /hello\s+kubemu\/hello:1\s+2\s+Running/);

    await c.kubectl('scale', 'webapp', 'hello', '--replicas=3');
    await until('three ready replicas in the status', async () => (await json('get', 'webapp', 'hello')).status?.replicas === 3, 120_000);
    assert.equal((await json('get', 'deployment', 'hello')).spec.replicas, 3);
    assert.match(await c.kubectl('get', '--raw', '/apis/demo.kubemu.io/v1/namespaces/default/webapps/hello/scale'), /"selector":"webapp=hello"/);

    await c.kubectl('delete', 'webapp', 'hello');
    await until('the Deployment collected', async () => !/hello/.test(await c.kubectl('get', 'deployments', '-o', 'name')), 60_000);
    assert.match(output, /created deployment default\/hello/);
  });
});
