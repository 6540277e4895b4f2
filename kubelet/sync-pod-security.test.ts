// What the kubelet decides itself about security and host settings, on the fake runtime (hollow nodes): the same
// refusals as on Docker, and what the runtime is asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeRuntime } from './cri/fake/runtime.ts';
import { newMemory, syncPod, type SyncDeps } from './sync-pod.ts';
import { silentLogger } from '../lib/logger.ts';
import type { ContainerConfig, PodSandboxConfig } from './cri/types.ts';
import type { ApiClient } from '../client/api-client.ts';

type Obj = Record<string, any>;

function setup(t: { after(fn: () => void): void }) {
  const rt = new FakeRuntime();
  const sandboxes: PodSandboxConfig[] = [];
  const containers: ContainerConfig[] = [];
  const run = rt.runPodSandbox.bind(rt);
  rt.runPodSandbox = async (c) => { sandboxes.push(c); return run(c); };
  const create = rt.createContainer.bind(rt);
  rt.createContainer = async (id, c, s) => { containers.push(c); return create(id, c, s); };
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-syncsec-'));
  t.after(() => fs.rmSync(rootDir, { recursive: true, force: true }));
  // No API objects: the env and volume code finds no Services, ConfigMaps or Secrets.
  const client = { get: async () => { throw Object.assign(new Error('not found'), { code: 'NotFound' }); }, list: async () => ({ items: [] }) } as unknown as ApiClient;
  const events: string[] = [];
  const deps: SyncDeps = { rt, images: rt, client, nodeName: 'n1', nodeIP: '127.0.1.1', rootDir, logger: silentLogger(), backoffInitialMs: 10, backoffMaxMs: 20,
    allowRemotePull: true, simulateNetwork: true, event: (_p, type, reason, message) => events.push(`${type} ${reason} ${message}`) };
  return { rt, deps, sandboxes, containers, events };
}
const pod = (name: string, spec: Obj): any => ({ metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { restartPolicy: 'Always', ...spec } });
const c = (extra: Obj = {}) => ({ name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', ...extra });

test('runAsNonRoot on an image with no user: CreateContainerConfigError with Kubernetes\' message, no container made', async (t) => {
  const { deps, containers, events } = setup(t);
  const p = pod('nr', { securityContext: { runAsNonRoot: true }, containers: [c()] });
  const status = await syncPod(p, newMemory(), deps);
  const msg = 'container has runAsNonRoot and image will run as root (pod: "nr_default(uid-nr)", container: c)';
  assert.deepEqual(status.containerStatuses[0].state, { waiting: { reason: 'CreateContainerConfigError', message: msg } });
  assert.equal(containers.length, 0);
  assert.ok(events.includes(`Warning Failed Error: ${msg}`), events.join('\n'));
});

test('an unsafe sysctl rejects the pod before a sandbox is made', async (t) => {
  const { deps, sandboxes } = setup(t);
  const status = await syncPod(pod('sys', { securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }] }, containers: [c()] }), newMemory(), deps);
  assert.deepEqual([status.phase, status.reason, status.message], ['Failed', 'SysctlForbidden', 'Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted']);
  assert.equal(sandboxes.length, 0);
});

test('the runtime is asked for the pod\'s namespaces, hostname, hostPort on the node IP and the container\'s security context', async (t) => {
  const { deps, sandboxes, containers } = setup(t);
  const p = pod('host', { hostNetwork: true, hostPID: true, securityContext: { runAsUser: 1000, fsGroup: 2000, sysctls: [{ name: 'kernel.shm_rmid_forced', value: '1' }] },
    containers: [c({ ports: [{ containerPort: 9000, hostPort: 9000 }], securityContext: { readOnlyRootFilesystem: true } })] });
  const status = await syncPod(p, newMemory(), deps);
  assert.equal(status.podIP, '127.0.1.1'); // on the node's network the pod's IP is the node's
  const sb = sandboxes[0]!;
  assert.equal(sb.hostname, '');
  assert.deepEqual(sb.linux?.securityContext?.namespaceOptions, { network: 'NODE', pid: 'NODE', ipc: 'POD' });
  assert.deepEqual(sb.linux?.sysctls, { 'kernel.shm_rmid_forced': '1' });
  assert.deepEqual(sb.portMappings, [{ protocol: 'TCP', containerPort: 9000, hostPort: 9000, hostIp: '127.0.1.1' }]);
  const sc = containers[0]!.linux!.securityContext!;
  assert.deepEqual([sc.runAsUser, sc.readonlyRootfs, sc.supplementalGroups], [{ value: 1000 }, true, [2000]]);
  assert.ok(containers[0]!.mounts!.some((m) => m.containerPath === '/etc/hosts'));

  const named = pod('named', { hostname: 'db', subdomain: 'backend', setHostnameAsFQDN: true, containers: [c()] });
  await syncPod(named, newMemory(), deps);
  assert.equal(sandboxes[1]!.hostname, 'db.backend.default.svc.cluster.local');
  assert.deepEqual(sandboxes[1]!.linux?.securityContext?.namespaceOptions, { network: 'POD', pid: 'CONTAINER', ipc: 'POD' });
});
