// A restart that must lose nothing: `kubemu down` (without --purge) and `kubemu up` again on the same
// directory. etcd's data stays in <dir>, so every object is still there; down removed the pod
// containers, so the kubelets start the same pods (same uids) again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { nodeIdentity } from '../../launcher/components.ts';
import { kubemu, startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';
import { webDeployment } from '../harness/web-app.ts';

const NAME = `rst${process.pid % 10000}`;
const APP = `
apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { color: blue }
---
apiVersion: v1
kind: Secret
metadata: { name: db }
stringData: { password: hunter2-at-rest }
---${webDeployment(2)}`;

const podContainers = (node: string) =>
  execFileSync('docker', ['ps', '-q', '--filter', `label=io.kubemu.node=${node}`, '--filter', 'label=io.kubernetes.container.name=hello'], { encoding: 'utf8' }).split('\n').filter(Boolean);

describe('kubemu down && kubemu up on the same directory', () => {
  let c: KubemuCluster;
  before(async () => { c = await startCluster(NAME, ['--nodes', '1']); });
  after(() => c?.down());

  test('Secrets are encrypted at rest: etcdctl shows k8s:enc:aescbc:v1: ciphertext, kubectl the plain value', async () => {
    await c.kubectl('create', 'secret', 'generic', 'plain-check', '--from-literal=token=visible-only-through-the-api');
    const raw = execFileSync('etcdctl', ['--endpoints', c.state().etcd, 'get', '/registry/secrets/default/plain-check', '--print-value-only'], { env: { ...process.env, ETCDCTL_API: '3' } });
    assert.match(raw.toString('latin1'), /^k8s:enc:aescbc:v1:key1:/);
    assert.equal(raw.includes(Buffer.from('visible-only-through-the-api')), false);
    assert.equal(raw.includes(Buffer.from(Buffer.from('visible-only-through-the-api').toString('base64'))), false);
    const yaml = await c.kubectl('get', 'secret', 'plain-check', '-o', 'yaml');
    assert.match(yaml, new RegExp(`token: ${Buffer.from('visible-only-through-the-api').toString('base64')}`));
    // ConfigMaps are not in the configuration: stored as they are.
    await c.kubectl('create', 'configmap', 'plain-cm', '--from-literal=k=readable');
    assert.match(execFileSync('etcdctl', ['--endpoints', c.state().etcd, 'get', '/registry/configmaps/default/plain-cm', '--print-value-only'], { encoding: 'utf8' }), /readable/);
    const cfg = fs.statSync(path.join(c.dir, 'pki', 'encryption-config.yaml'));
    assert.equal(cfg.mode & 0o777, 0o600);
  });

  test('keeps every object and brings the same pods back', async () => {
    const file = path.join(c.dir, 'app.yaml');
    fs.writeFileSync(file, APP);
    await c.kubectl('apply', '-f', file);
    await c.kubectl('rollout', 'status', 'deployment/web', '--timeout=120s');
    const uids = async () => JSON.parse(await c.kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).items.map((p: { metadata: { uid: string } }) => p.metadata.uid).sort();
    const before = await uids();
    assert.equal(before.length, 2);
    const { nodeName } = nodeIdentity(NAME, 1);
    assert.equal(podContainers(nodeName).length, 2);

    const s = c.state();
    const ports = ['--port', new URL(s.apiserver).port, '--grpc-port', s.grpc.split(':').pop()!];
    const down = kubemu(['down', '--dir', c.dir]);
    assert.equal(down.status, 0, down.stderr);
    assert.deepEqual(podContainers(nodeName), [], 'down removed the pod containers');

    const up = kubemu(['up', '--dir', c.dir, '--name', NAME, '--nodes', '1', ...ports]);
    assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
    assert.equal(JSON.parse(await c.kubectl('get', 'configmap', 'settings', '-o', 'json')).data.color, 'blue');
    // The encryption key made on the first up is the one the second up reads Secrets with.
    assert.equal(Buffer.from(JSON.parse(await c.kubectl('get', 'secret', 'db', '-o', 'json')).data.password, 'base64').toString(), 'hunter2-at-rest');
    await c.kubectl('rollout', 'status', 'deployment/web', '--timeout=120s');
    assert.deepEqual(await uids(), before, 'the same pod objects');
    await until('both pods running again in Docker', async () => podContainers(nodeName).length === 2, 120_000);
    await until('both pods Ready again', async () => {
      const pods = JSON.parse(await c.kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).items;
      return pods.every((p: { status: { conditions?: { type: string; status: string }[] } }) => p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
    }, 120_000);
  });
});
