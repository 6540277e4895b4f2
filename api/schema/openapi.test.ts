import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESOURCES } from '../resources.ts';
import { componentSchemas } from './openapi.ts';

test('each group/version document holds its kinds, tagged with their GVK, and every schema they refer to', () => {
  for (const gv of new Set(RESOURCES.map((r) => `${r.group}/${r.version}`))) {
    const [group, version] = gv.split('/');
    const schemas = componentSchemas(group, version) as Record<string, any>;
    const refs = JSON.stringify(schemas).match(/#\/components\/schemas\/[^"]+/g) ?? [];
    for (const ref of refs) assert.ok(schemas[ref.slice('#/components/schemas/'.length)], `${gv}: ${ref} unresolved`);
    for (const r of RESOURCES.filter((x) => x.group === group && x.version === version)) {
      const tagged = Object.values(schemas).filter((s) => s['x-kubernetes-group-version-kind']?.some((g: any) => g.kind === r.kind && g.group === group && g.version === version));
      assert.equal(tagged.length, 1, `${gv} ${r.kind}`);
    }
  }
});

test('schemas are shaped as kube-apiserver publishes them', () => {
  const apps = componentSchemas('apps', 'v1') as Record<string, any>;
  const d = apps['io.k8s.api.apps.v1.Deployment'];
  assert.deepEqual(d.properties.spec, { allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec' }], default: {} });
  assert.deepEqual(d.properties.metadata.allOf, [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }]);
  const spec = apps['io.k8s.api.apps.v1.DeploymentSpec'];
  assert.equal(spec.properties.replicas.type, 'integer');
  assert.equal(spec.properties.replicas.format, 'int32');
  assert.match(spec.properties.replicas.description, /^Number of desired pods/);
  assert.equal(spec.description, 'DeploymentSpec is the specification of the desired behavior of the Deployment.');
  assert.deepEqual(spec.required, ['selector', 'template']);
  // Pod types keep the core package even in the apps document.
  assert.equal(apps['io.k8s.api.core.v1.PodSpec'].properties.containers.type, 'array');
  // Quantity and IntOrString have no `type`, so kubectl explain names them.
  assert.equal(apps['io.k8s.apimachinery.pkg.api.resource.Quantity'].type, undefined);
  assert.equal(apps['io.k8s.apimachinery.pkg.util.intstr.IntOrString']['x-kubernetes-int-or-string'], true);
  assert.deepEqual(apps['io.k8s.api.core.v1.ResourceRequirements'].properties.limits.additionalProperties,
    { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity' }] });
});
