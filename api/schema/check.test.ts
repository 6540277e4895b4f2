import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QUANTITY_FORMAT } from '../quantity.ts';
import { checkObject, duplicateFields, rootType } from './check.ts';
import { goBase64Error, goTimeParseError, RFC3339, RFC3339_MICRO } from './go-formats.ts';

const deployment = (spec: object) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec });
const podSpec = (extra: object = {}) => ({ containers: [{ name: 'web', image: 'nginx', ...extra }] });
const typeError = (root: string, obj: unknown) => checkObject(root, obj).typeError;

test('every served kind has a schema', () => {
  assert.equal(rootType('apps/v1', 'Deployment'), 'V1Deployment');
  assert.equal(rootType('v1', 'Event'), 'CoreV1Event');
  assert.equal(rootType('example.com/v1', 'Widget'), undefined);
});

test('unknown fields are listed in Kubernetes path notation and dropped from the object', () => {
  const d = deployment({ replica: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: podSpec({ imagee: 'x' }) } });
  const r = checkObject('V1Deployment', d);
  assert.deepEqual(r.unknown, ['unknown field "spec.replica"', 'unknown field "spec.template.spec.containers[0].imagee"']);
  assert.equal(r.typeError, undefined);
  assert.equal('replica' in d.spec, false);
  assert.deepEqual((d.spec as any).template.spec.containers[0], { name: 'web', image: 'nginx' });
  // Free-form and map values keep whatever keys they have.
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { anything: 'x' }, annotations: { a: 'b' } }, data: { k: 'v' } };
  assert.deepEqual(checkObject('V1ConfigMap', cm).unknown, []);
  assert.deepEqual(cm.metadata.labels, { anything: 'x' });
  // The same unknown path is reported once.
  assert.deepEqual(checkObject('V1ConfigMap', { metadata: { name: 'c' }, bogus: 1 }).unknown, ['unknown field "bogus"']);
});

test('wrong types get Go encoding/json words with sigs.k8s.io/json paths', () => {
  assert.equal(typeError('V1Secret', { metadata: { name: 's' }, stringData: ['a', 'b'] }),
    'json: cannot unmarshal array into Go struct field Secret.stringData of type map[string]string');
  assert.equal(typeError('V1Pod', { spec: { ...podSpec(), affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ nodeSelectorTerms: [] }] } } } }),
    'json: cannot unmarshal array into Go struct field NodeAffinity.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution of type v1.NodeSelector');
  assert.equal(typeError('V1Pod', { spec: { containers: 'web' } }),
    'json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container');
  assert.equal(typeError('V1Pod', { spec: { containers: ['web'] } }),
    'json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type v1.Container');
  assert.equal(typeError('V1Deployment', deployment({ replicas: '3' })),
    'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32');
  assert.equal(typeError('V1Deployment', deployment({ replicas: 1.5 })),
    'json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32');
  assert.equal(typeError('V1Pod', { metadata: { labels: { a: 1 } } }),
    'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string');
  assert.equal(typeError('V1Pod', { spec: { ...podSpec(), hostNetwork: 'yes' } }),
    'json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool');
  // Named Go types, as types.go declares them.
  assert.equal(typeError('V1Pod', { spec: podSpec({ imagePullPolicy: 1 }) }),
    'json: cannot unmarshal number into Go struct field Container.spec.containers.imagePullPolicy of type v1.PullPolicy');
  assert.equal(typeError('V1Pod', { spec: podSpec({ securityContext: { capabilities: { add: [1] } } }) }),
    'json: cannot unmarshal number into Go struct field Capabilities.spec.containers.securityContext.capabilities.add of type v1.Capability');
  assert.equal(typeError('V1Pod', { metadata: { uid: 1 } }), 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.uid of type types.UID');
  assert.equal(typeError('V1Pod', { spec: 'x' }), 'json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec');
  // The first type error in document order wins.
  assert.equal(typeError('V1Pod', { metadata: { name: 5 }, spec: 'x' }),
    'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string');
  // null is every type's zero value.
  assert.equal(typeError('V1Pod', { metadata: { creationTimestamp: null, labels: null }, spec: { containers: null } }), undefined);
});

test('IntOrString, Quantity and Time decode as their UnmarshalJSON does', () => {
  const surge = (v: unknown) => typeError('V1Deployment', deployment({ strategy: { rollingUpdate: { maxSurge: v } } }));
  assert.equal(surge('25%'), undefined);
  assert.equal(surge(2), undefined);
  assert.equal(surge(1.5), 'json: cannot unmarshal number 1.5 into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32');
  assert.equal(surge([1]), 'json: cannot unmarshal array into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32');
  const limits = (v: unknown) => typeError('V1Pod', { spec: { containers: [{ name: 'a', resources: { limits: { cpu: v } } }] } });
  for (const ok of ['100m', 1, 0.5, '1Gi', '1e3', ' 2 ']) assert.equal(limits(ok), undefined, String(ok));
  assert.equal(limits('abc'), QUANTITY_FORMAT);
  assert.equal(limits({}), QUANTITY_FORMAT);
  assert.equal(limits('1.2.3'), 'unable to parse numeric part of quantity');
  assert.equal(limits('1Mb'), QUANTITY_FORMAT);
  assert.equal(limits('1iM'), "unable to parse quantity's suffix");
  // A Quantity error ends decoding, so it wins over an earlier saved type error.
  assert.equal(typeError('V1Pod', { metadata: { name: 5 }, spec: { containers: [{ resources: { limits: { cpu: 'x' } } }] } }), QUANTITY_FORMAT);
  assert.equal(typeError('V1Pod', { metadata: { creationTimestamp: 5 } }),
    'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string');
  assert.equal(typeError('V1Pod', { metadata: { creationTimestamp: 'yesterday' } }),
    'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"');
  assert.equal(typeError('V1Lease', { spec: { renewTime: '2026-12-02T10:00:00.123456Z' } }), undefined);
  assert.equal(typeError('V1Lease', { spec: { renewTime: '2026-12-02T10:00:00.123Z' } }),
    'parsing time "2026-12-02T10:00:00.123Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".123Z" as ".000000"');
});

test('Go time.Parse errors for RFC3339', () => {
  assert.equal(goTimeParseError('2026-12-02T10:00:00Z', RFC3339), undefined);
  assert.equal(goTimeParseError('2026-12-02T10:00:00.5+01:00', RFC3339), undefined);
  assert.equal(goTimeParseError('2026-12-02T10:00:00.000001Z', RFC3339_MICRO), undefined);
  assert.equal(goTimeParseError('2026/12/02', RFC3339), 'parsing time "2026/12/02" as "2006-01-02T15:04:05Z07:00": cannot parse "/12/02" as "-"');
  assert.equal(goTimeParseError('2026-13-02T10:00:00Z', RFC3339), 'parsing time "2026-13-02T10:00:00Z": month out of range');
  assert.equal(goTimeParseError('2026-02-30T10:00:00Z', RFC3339), 'parsing time "2026-02-30T10:00:00Z": day out of range');
  assert.equal(goTimeParseError('2026-12-02T10:00:00', RFC3339), 'parsing time "2026-12-02T10:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"');
  assert.equal(goTimeParseError('2026-12-02T10:00:00Zx', RFC3339), 'parsing time "2026-12-02T10:00:00Zx": extra text: "x"');
});

test('[]byte fields take standard base64, with Go\'s error offsets', () => {
  for (const ok of ['', 'aGVsbG8=', 'aGk=', 'aGVs', 'aGVs\nbG8=']) assert.equal(goBase64Error(ok), undefined, ok);
  assert.equal(goBase64Error('ab!d'), 'illegal base64 data at input byte 2');
  assert.equal(goBase64Error('abc'), 'illegal base64 data at input byte 0');
  assert.equal(goBase64Error('aGk=x'), 'illegal base64 data at input byte 4');
  assert.equal(typeError('V1Secret', { data: { k: 'not base64!' } }), 'illegal base64 data at input byte 3');
  assert.equal(typeError('V1Secret', { data: { k: 5 } }), 'json: cannot unmarshal number into Go struct field Secret.data of type []uint8');
});

test('duplicate fields are found in the raw JSON with their paths', () => {
  assert.deepEqual(duplicateFields('{"metadata":{"name":"a","name":"b"},"spec":{"containers":[{"name":"x"},{"image":"i","image":"j"}]}}'),
    ['duplicate field "metadata.name"', 'duplicate field "spec.containers[1].image"']);
  assert.deepEqual(duplicateFields('{"a":"x,\\"a\\":{","b":[1,{"c":1}],"b":2}'), ['duplicate field "b"']);
  assert.deepEqual(duplicateFields('{"a":{"b":1},"c":{"b":1}}'), []);
  assert.deepEqual(duplicateFields('[{"k":1,"k":2}]'), ['duplicate field "[0].k"']);
});

test('schemas.json and descriptions.json are what scripts/gen-schemas.ts makes from the installed client-node', async () => {
  const { generate, SCHEMA_FILES } = await import('../../scripts/gen-schemas.ts');
  const { readFileSync } = await import('node:fs');
  const out = generate();
  assert.equal(readFileSync(SCHEMA_FILES.schemas, 'utf8'), out.schemas, 'run: node --import tsx scripts/gen-schemas.ts');
  assert.equal(readFileSync(SCHEMA_FILES.descriptions, 'utf8'), out.descriptions, 'run: node --import tsx scripts/gen-schemas.ts');
});
