import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldError } from '../errors.ts';
import { validateEphemeralContainers, validateEphemeralContainersUpdate } from './ephemeral-containers.ts';

const spec = (ephemeralContainers: object[]) => ({ containers: [{ name: 'app', image: 'x' }], initContainers: [{ name: 'init', image: 'x' }], ephemeralContainers });
const errors = (s: object) => { const errs: FieldError[] = []; validateEphemeralContainers('spec.ephemeralContainers', s, errs); return errs.map((e) => `${e.field}: ${e.detail}`); };

test('fields an ephemeral container may not set are Forbidden; an empty list or resources {} counts as unset', () => {
  assert.deepEqual(errors(spec([{ name: 'd', image: 'x', ports: [{ containerPort: 1 }], resources: { limits: { cpu: '1' } }, livenessProbe: {}, lifecycle: { preStop: {} }, restartPolicy: 'Always' }])), [
    'spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container',
    'spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container',
    'spec.ephemeralContainers[0].restartPolicy: Forbidden: cannot be set for an Ephemeral Container',
    'spec.ephemeralContainers[0].livenessProbe: Forbidden: cannot be set for an Ephemeral Container',
    'spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container',
  ]);
  assert.deepEqual(errors(spec([{ name: 'd', image: 'x', ports: [], resources: {}, stdin: true, tty: true, env: [{ name: 'A', value: 'b' }] }])), []);
});

test('names are unique across all containers; the target must be a container or init container; no subPath', () => {
  assert.deepEqual(errors(spec([{ name: 'init', image: 'x', targetContainerName: 'nope', volumeMounts: [{ name: 'v', mountPath: '/v', subPath: 'a' }] }, { name: 'ok', image: 'x', targetContainerName: 'app' }])), [
    'spec.ephemeralContainers[0].name: Duplicate value: "init"',
    'spec.ephemeralContainers[0].targetContainerName: Not found: "nope"',
    'spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container',
  ]);
});

test('through the subresource, ephemeral containers are only added', () => {
  const old = { metadata: {}, spec: spec([{ name: 'd1', image: 'x', stdin: true }]) };
  assert.deepEqual(validateEphemeralContainersUpdate({ spec: spec([{ stdin: true, image: 'x', name: 'd1' }, { name: 'd2', image: 'x' }]) }, old), []);
  const removed = validateEphemeralContainersUpdate({ spec: spec([]) }, old);
  assert.deepEqual(removed.map((e) => `${e.field}: ${e.detail}`), ['spec.ephemeralContainers: Forbidden: existing ephemeral containers "d1" may not be removed\n']);
  const changed = validateEphemeralContainersUpdate({ spec: spec([{ name: 'd1', image: 'y', stdin: true }]) }, old);
  assert.equal(changed.length, 1);
  assert.match(changed[0].detail, /^Forbidden: existing ephemeral containers "d1" may not be changed\n {2}- image: "x"\n {2}\+ image: "y"$/);
  assert.deepEqual(validateEphemeralContainersUpdate({ spec: spec([]) }, { metadata: { annotations: { 'kubernetes.io/config.mirror': 'x' } }, spec: spec([]) })
    .map((e) => e.detail), ['Forbidden: static pods do not support ephemeral containers']);
});
