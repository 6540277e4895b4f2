// Pod defaulting that the kubelet and scheduler rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../../api/resources.ts';
import { kindFor } from './index.ts';

test('a hostNetwork Pod\'s container ports get hostPort = containerPort; a pod template is left alone', () => {
  const spec = () => ({ hostNetwork: true, containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 8080 }, { containerPort: 9090, hostPort: 9090 }] }] });
  const pod: any = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: spec() };
  kindFor(findResource('', 'pods')!).defaults!(pod);
  assert.deepEqual(pod.spec.containers[0].ports.map((p: any) => p.hostPort), [8080, 9090]);
  const deploy: any = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: {}, template: { spec: spec() } } };
  kindFor(findResource('apps', 'deployments')!).defaults!(deploy);
  assert.equal(deploy.spec.template.spec.containers[0].ports[0].hostPort, undefined);
});
