// The Pod-spec table covers exactly the fields the API accepts, docs/pod-spec.md is generated from it, and a
// pod's unhonoured fields are reported (defaults are not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import schemas from '../api/schema/schemas.json' with { type: 'json' };
import { CONTAINER, CONTAINER_SECURITY_CONTEXT, POD_SECURITY_CONTEXT, POD_SPEC, renderPodSpecDoc, unhonouredFields } from './pod-spec-support.ts';
import { defaultPodSpec } from '../api/defaults/index.ts';

const types = (schemas as unknown as { types: Record<string, Record<string, string>> }).types;

test('every field of PodSpec, Container and both securityContexts has a row, and no row names a field the API lacks', () => {
  for (const [type, table] of [['V1PodSpec', POD_SPEC], ['V1Container', CONTAINER], ['V1PodSecurityContext', POD_SECURITY_CONTEXT], ['V1SecurityContext', CONTAINER_SECURITY_CONTEXT]] as const) {
    assert.deepEqual(Object.keys(table).sort(), Object.keys(types[type]!).sort(), type);
  }
});

test('docs/pod-spec.md is the table, generated', () => {
  const doc = fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/pod-spec.md'), 'utf8');
  assert.equal(doc, renderPodSpecDoc() + '\n', 'run: node --import tsx scripts/gen-pod-spec-doc.ts');
});

test('a pod\'s unhonoured fields are named; defaulted and honoured fields are not', () => {
  const plain: any = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  defaultPodSpec(plain.spec);
  assert.deepEqual(unhonouredFields(plain), []);
  const odd: any = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {
    hostNetwork: true, hostUsers: false, securityContext: { runAsUser: 1000, seLinuxOptions: { level: 's0:c1' } }, affinity: { podAntiAffinity: {} }, subdomain: 'peers', schedulingGates: [{ name: 'g' }],
    initContainers: [{ name: 'i', image: 'i', lifecycle: { preStop: { exec: { command: ['x'] } }, stopSignal: 'SIGUSR1' } }],
    containers: [{ name: 'c', image: 'i', securityContext: { privileged: true, appArmorProfile: { type: 'Unconfined' } }, resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }], readinessProbe: { grpc: { port: 9 } } }] } };
  defaultPodSpec(odd.spec);
  assert.deepEqual(unhonouredFields(odd).map((w) => w.split(':')[0]), [
    'spec.hostUsers', 'spec.securityContext.seLinuxOptions',
    'spec.initContainers[0].lifecycle', 'spec.containers[0].resizePolicy', 'spec.containers[0].securityContext.appArmorProfile',
  ]);
});
