// The pods kind: what an update may change (schedulingGates only removed), the status a gated pod starts with,
// and a gated pod refused by the binding subresource (the last through test/e2e/scheduler.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { findResource } from '../../api/resources.ts';
import { kindFor } from './index.ts';
import { pods } from './pods.ts';

const pod = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'i' }], ...spec },
});
const update = (next: KubeObject, old: KubeObject) => pods.validateUpdate!(next, old);
const messages = (errs: Array<{ field: string; detail?: string }>) => errs.map((e) => `${e.field}: ${e.detail ?? ''}`);

test('gates may be removed, never added, after creation', () => {
  const two = pod({ schedulingGates: [{ name: 'a.io/one' }, { name: 'a.io/two' }] });
  assert.deepEqual(update(pod({ schedulingGates: [{ name: 'a.io/two' }] }), two), []);
  assert.deepEqual(update(pod({}), two), []);
  assert.deepEqual(messages(update(pod({ schedulingGates: [{ name: 'a.io/one' }, { name: 'x' }] }), pod({ schedulingGates: [{ name: 'a.io/one' }] }))),
    ["spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'x'"]);
  assert.equal(update(pod({ schedulingGates: [{ name: 'x' }] }), pod({})).length, 1);
});


test('a gated pod starts PodScheduled=False, reason SchedulingGated', () => {
  const gated = pod({ schedulingGates: [{ name: 'a.io/one' }] });
  pods.prepareForCreate!(gated);
  assert.deepEqual(gated.status.conditions, [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates', lastProbeTime: null, lastTransitionTime: null }]);
  const plain = pod({});
  pods.prepareForCreate!(plain);
  assert.equal(plain.status.conditions, undefined);
});

test('a hostNetwork Pod\'s container ports get hostPort = containerPort; a pod template is left alone', () => {
  const spec = () => ({ hostNetwork: true, containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 8080 }, { containerPort: 9090, hostPort: 9090 }] }] });
  const p: any = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: spec() };
  kindFor(findResource('', 'pods')!).defaults!(p);
  assert.deepEqual(p.spec.containers[0].ports.map((x: any) => x.hostPort), [8080, 9090]);
  const deploy: any = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: {}, template: { spec: spec() } } };
  kindFor(findResource('apps', 'deployments')!).defaults!(deploy);
  assert.equal(deploy.spec.template.spec.containers[0].ports[0].hostPort, undefined);
});
