import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import YAML from 'yaml';
import { decodeKubernetesProtobuf, protobufRoot } from './protobuf.ts';
import { PROTOBUF_KINDS, UNKNOWN_MESSAGE, protobufServed } from './protobuf-kinds.ts';
import { RESOURCES, apiVersionOf } from '../../api/resources.ts';
import { protobufBody, toProtoObject } from '../../test/harness/protobuf-body.ts';
import { ROOT } from '../../lib/root.ts';

type Obj = Record<string, unknown>;
const HEX = '6b3873000a0f0a0276311209436f6e6669674d6170121f0a150a05636d2d706212001a0022002a0032003800420012060a01611201621a002200';
const decode = (b: Buffer) => decodeKubernetesProtobuf(b) as unknown as Obj;
const roundTrip = (o: Obj) => decode(protobufBody(o));
const failure = (b: Buffer) => {
  try { decodeKubernetesProtobuf(b); } catch (e) { return e as { code: string; message: string }; }
  return assert.fail('decoded');
};

/** A pod template using most of PodSpec: what `create job --from=cronjob` lost before. */
const TEMPLATE = {
  metadata: { labels: { app: 'report' }, annotations: { note: 'x' } },
  spec: {
    restartPolicy: 'OnFailure', terminationGracePeriodSeconds: 0, serviceAccountName: 'reporter', hostname: 'h',
    automountServiceAccountToken: false, enableServiceLinks: false, shareProcessNamespace: true,
    nodeSelector: { disk: 'ssd' }, priorityClassName: 'high', schedulerName: 'default-scheduler',
    volumes: [
      { name: 'script', configMap: { name: 'scripts', defaultMode: 0o755, items: [{ key: 'run.sh', path: 'run.sh', mode: 0o700 }], optional: false } },
      { name: 'creds', secret: { secretName: 'creds', defaultMode: 0o400 } },
      { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'host', hostPath: { path: '/var/log', type: 'Directory' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
      { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }] } },
      { name: 'all', projected: { sources: [
        { serviceAccountToken: { audience: 'api', expirationSeconds: 3600, path: 'token' } },
        { configMap: { name: 'scripts', items: [{ key: 'a', path: 'a' }] } },
      ] } },
    ],
    securityContext: {
      runAsUser: 0, runAsGroup: 1000, runAsNonRoot: false, fsGroup: 2000, supplementalGroups: [3000, 4000],
      seccompProfile: { type: 'RuntimeDefault' }, sysctls: [{ name: 'net.core.somaxconn', value: '1024' }],
    },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] },
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } }],
      },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: {
        labelSelector: { matchLabels: { app: 'report' } }, topologyKey: 'kubernetes.io/hostname' } }] },
    },
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 },
      { key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' },
    ],
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'report' } } }],
    dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['svc.local'], options: [{ name: 'ndots', value: '2' }] },
    hostAliases: [{ ip: '10.0.0.1', hostnames: ['db'] }],
    imagePullSecrets: [{ name: 'registry' }],
    initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'true'], restartPolicy: 'Always' }],
    containers: [{
      name: 'run', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent', command: ['sh'], args: ['/script/run.sh'], workingDir: '/work',
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      env: [
        { name: 'PLAIN', value: 'v' },
        { name: 'NODE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { containerName: 'run', resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'CM', valueFrom: { configMapKeyRef: { name: 'scripts', key: 'a', optional: true } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
      ],
      envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds', optional: false } }],
      resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m', memory: '64Mi' } },
      volumeMounts: [
        { name: 'script', mountPath: '/script', readOnly: true },
        { name: 'scratch', mountPath: '/work', subPath: 'w' },
        { name: 'host', mountPath: '/logs', mountPropagation: 'HostToContainer' },
      ],
      livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X', value: 'y' }] },
        initialDelaySeconds: 3, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 4, successThreshold: 1 },
      readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 },
      startupProbe: { exec: { command: ['cat', '/tmp/ok'] }, failureThreshold: 30 },
      lifecycle: { preStop: { sleep: { seconds: 5 } }, postStart: { exec: { command: ['true'] } } },
      securityContext: { privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsUser: 1000,
        capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } },
      stdin: true, tty: true, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
    }],
  },
};

test('decodes the kubectl 1.32 configmap body from kubectl-wire §13', () => {
  assert.deepEqual(decode(Buffer.from(HEX, 'hex')),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-pb' }, data: { a: 'b' } });
});

test('a Pod using most of PodSpec, its metadata and status round-trips with no field lost', () => {
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: 'p', namespace: 'ns', uid: 'u-1', resourceVersion: '7', generation: 2, creationTimestamp: '2026-01-02T03:04:05Z',
      deletionTimestamp: '2026-01-02T03:05:00Z', deletionGracePeriodSeconds: 0, labels: { a: 'b' }, annotations: { c: 'd' },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'u-0', controller: true, blockOwnerDeletion: true }],
      finalizers: ['kubemu.io/x'],
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '2026-01-02T03:04:05Z',
        fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } } } }],
    },
    spec: { ...TEMPLATE.spec, nodeName: 'node-1' },
    status: {
      phase: 'Running', podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }], hostIP: '172.18.0.2', startTime: '2026-01-02T03:04:06Z',
      qosClass: 'Burstable', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-02T03:04:09Z' }],
      containerStatuses: [{ name: 'run', ready: true, restartCount: 0, image: 'busybox:1.36', imageID: 'sha256:1', containerID: 'docker://c',
        started: true, state: { running: { startedAt: '2026-01-02T03:04:08Z' } },
        lastState: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2026-01-02T03:00:00Z', finishedAt: '2026-01-02T03:01:00Z' } } }],
    },
  };
  assert.deepEqual(roundTrip(pod), pod);
});

test('Job and CronJob with that template round-trip, pointer zeros (backoffLimit: 0) kept', () => {
  const job = {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'default' },
    spec: {
      parallelism: 2, completions: 4, backoffLimit: 0, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 0, completionMode: 'Indexed',
      suspend: false, manualSelector: false, selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['report'] }] },
      podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'run', operator: 'In', values: [42] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
      template: TEMPLATE,
    },
    status: { active: 1, startTime: '2026-01-02T03:04:05Z', uncountedTerminatedPods: {} },
  };
  assert.deepEqual(roundTrip(job), job);
  const cron = {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', namespace: 'default' },
    spec: {
      schedule: '*/5 * * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 0, suspend: true,
      successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 1,
      jobTemplate: { metadata: { labels: { from: 'cron' } }, spec: { backoffLimit: 1, template: TEMPLATE } },
    },
    status: { lastScheduleTime: '2026-01-02T03:00:00Z', active: [{ kind: 'Job', namespace: 'default', name: 'c-1', uid: 'u' }] },
  };
  assert.deepEqual(roundTrip(cron), cron);
});

test('zero values: dropped when Go omits them (omitempty, not a pointer), kept for pointers and plain fields', () => {
  const got = roundTrip({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation: 0, generateName: '' },
    spec: {
      replicas: 0, minReadySeconds: 0, paused: false, revisionHistoryLimit: 0, selector: { matchLabels: { a: 'b' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: { metadata: { labels: { a: 'b' } }, spec: { hostNetwork: false, containers: [{
        name: 'c', image: 'i', stdin: false, ports: [{ containerPort: 0, hostPort: 0 }], resources: {} }] } },
    },
  });
  assert.deepEqual(got, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' },
    spec: {
      replicas: 0, revisionHistoryLimit: 0, selector: { matchLabels: { a: 'b' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 0 }], resources: {} }] } },
    },
  });
});

test('Secret data is bytes, binary and empty values included; map keys are own properties', () => {
  const binary = Buffer.from([0, 0xff, 0xfe, 0x80, 0x0a]).toString('base64');
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque',
    data: { bin: binary, text: Buffer.from('admin').toString('base64'), empty: '', ['__proto__']: 'eA==' } };
  const got = roundTrip(JSON.parse(JSON.stringify(secret)));
  assert.deepEqual(Object.keys(got.data as Obj), ['bin', 'text', 'empty', '__proto__']);
  assert.equal((got.data as Obj).bin, binary);
  assert.equal((got.data as Obj).empty, '');
  assert.equal(Object.getPrototypeOf(got.data), Object.prototype);
  assert.equal(Object.keys(Object.prototype).length, 0);
});

test('MicroTime keeps microseconds, Time whole seconds', () => {
  const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'kube-node-lease' },
    spec: { holderIdentity: 'node-1', leaseDurationSeconds: 0, acquireTime: '2026-01-02T03:04:05.123456Z', renewTime: '2026-01-02T03:04:06.000001Z', leaseTransitions: 0 } };
  assert.deepEqual(roundTrip(lease), lease);
  // Time on the wire with nanos: Kubernetes reads whole seconds only.
  const meta = protobufRoot().lookupType('k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  const cmType = protobufRoot().lookupType('k8s.io.api.core.v1.ConfigMap');
  const raw = cmType.encode({ metadata: meta.fromObject({ name: 'c', creationTimestamp: { seconds: 1767323045, nanos: 999 } }) }).finish();
  const body = Buffer.concat([Buffer.from('k8s\0'), protobufRoot().lookupType(UNKNOWN_MESSAGE).encode({ typeMeta: { apiVersion: 'v1', kind: 'ConfigMap' }, raw }).finish()]);
  assert.deepEqual(decode(body).metadata, { name: 'c', creationTimestamp: '2026-01-02T03:04:05Z' });
});

test('the manifests in examples/ round-trip', () => {
  let n = 0;
  for (const file of fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8'))) {
      const obj = doc.toJS() as Obj | null;
      if (!obj?.kind) continue;
      assert.deepEqual(roundTrip(obj), obj, `${file} ${obj.kind}`);
      n++;
    }
  }
  assert.ok(n >= 20, `${n} objects`);
});

test('every body kind decodes, and every kind in api/resources.ts is one of them', () => {
  for (const r of RESOURCES.filter(protobufServed)) assert.ok(PROTOBUF_KINDS.some((k) => k.apiVersion === apiVersionOf(r) && k.kind === r.kind), r.kind);
  for (const k of PROTOBUF_KINDS) {
    const obj = k.kind === 'DeleteOptions' ? { apiVersion: k.apiVersion, kind: k.kind, dryRun: ['All'] }
      : { apiVersion: k.apiVersion, kind: k.kind, metadata: { name: 'x' } };
    assert.deepEqual(roundTrip(obj), obj, `${k.apiVersion} ${k.kind}`);
  }
  // Spot checks that the descriptor is Kubernetes' whole message, not a subset.
  const fields = (m: string) => Object.keys(protobufRoot().lookupType(m).fields);
  assert.ok(fields('k8s.io.api.core.v1.PodSpec').length >= 40);
  assert.ok(fields('k8s.io.api.core.v1.VolumeSource').length >= 28);
  for (const f of ['volumes', 'securityContext', 'affinity', 'tolerations']) assert.ok(fields('k8s.io.api.core.v1.PodSpec').includes(f));
});

test('Binding, Eviction, Scale and DeleteOptions bodies', () => {
  assert.deepEqual(roundTrip({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n' } }),
    { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n' } });
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'd' }, deleteOptions: { gracePeriodSeconds: 0 } };
  assert.deepEqual(roundTrip(eviction), eviction);
  const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'd' }, spec: { replicas: 0 } };
  assert.deepEqual(roundTrip(scale), { ...scale, spec: {} }); // ScaleSpec.replicas is a plain omitempty int32 in Go
  const del = { apiVersion: 'apps/v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, propagationPolicy: 'Foreground', preconditions: { uid: 'u' } };
  assert.deepEqual(roundTrip(del), del);
});

test('a field kubemu does not know is refused with 415, never dropped', () => {
  const podType = protobufRoot().lookupType('k8s.io.api.core.v1.Pod');
  const envelope = (raw: Uint8Array, kind = 'Pod') => Buffer.concat([Buffer.from('k8s\0'),
    protobufRoot().lookupType(UNKNOWN_MESSAGE).encode({ typeMeta: { apiVersion: 'v1', kind }, raw }).finish()]);
  const pod = toProtoObject(podType, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  // Field 999 (varint) at the top level, inside PodSpec, and inside a label's map entry.
  const top = Buffer.concat([podType.encode(pod).finish(), Buffer.from(protobuf.Writer.create().uint32((999 << 3) | 0).uint32(1).finish())]);
  const specType = protobufRoot().lookupType('k8s.io.api.core.v1.PodSpec');
  const spec = Buffer.concat([specType.encode(pod.spec as Obj).finish(), Buffer.from(protobuf.Writer.create().uint32((999 << 3) | 0).uint32(1).finish())]);
  const nested = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(spec).finish();
  const entry = protobuf.Writer.create().uint32(10).string('k').uint32(18).string('v').uint32(26).string('x').finish();
  const labels = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(protobuf.Writer.create().uint32((11 << 3) | 2).bytes(entry).finish()).finish();
  for (const [raw, where] of [[top, 'k8s.io.api.core.v1.Pod'], [nested, 'k8s.io.api.core.v1.PodSpec'], [labels, 'ObjectMeta.labels']] as const) {
    const err = failure(envelope(raw));
    assert.equal(err.code, 'UnsupportedMediaType', where);
    assert.match(err.message, /^the body of the request was in an unknown format - accepted media types include: application\/json, application\/yaml \(/);
    assert.ok(err.message.includes(where), err.message);
  }
});

test('a kind kubemu does not serve is 415 with a clear message', () => {
  const err = failure(Buffer.from('6b3873000a0d0a0276311207556e6b6e6f776e', 'hex')); // v1 Unknown
  assert.equal(err.code, 'UnsupportedMediaType');
  assert.equal(err.message, 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml ' +
    '(kubemu decodes application/vnd.kubernetes.protobuf only for its built-in kinds, not v1 Unknown)');
  const ingress = Buffer.concat([Buffer.from('k8s\0'), protobufRoot().lookupType(UNKNOWN_MESSAGE)
    .encode({ typeMeta: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }, raw: new Uint8Array() }).finish()]);
  assert.equal(failure(ingress).code, 'UnsupportedMediaType');
});

test('malformed bodies are a BadRequest, never a crash', () => {
  assert.equal(failure(Buffer.from('{}')).code, 'BadRequest');
  assert.equal(failure(Buffer.from('6b387300ffffffff', 'hex')).code, 'BadRequest');
  const body = Buffer.from(HEX, 'hex');
  assert.equal(failure(body.subarray(0, body.length - 3)).code, 'BadRequest'); // truncated
  // ConfigMap.data (field 2, a map) sent as a varint: the wrong wire type.
  const wrong = Buffer.concat([Buffer.from('k8s\0'), protobufRoot().lookupType(UNKNOWN_MESSAGE)
    .encode({ typeMeta: { apiVersion: 'v1', kind: 'ConfigMap' }, raw: Uint8Array.from([0x10, 0x01]) }).finish()]);
  assert.equal(failure(wrong).code, 'BadRequest');
});

test('packed and unpacked repeated numbers both decode', () => {
  const ctx = protobufRoot().lookupType('k8s.io.api.core.v1.PodSecurityContext');
  const packed = protobuf.Writer.create().uint32((4 << 3) | 2).fork().int64(5).int64(6).ldelim().finish(); // supplementalGroups = 4
  const spec = protobuf.Writer.create().uint32((14 << 3) | 2).bytes(packed).finish(); // PodSpec.securityContext = 14
  const pod = protobuf.Writer.create().uint32((2 << 3) | 2).bytes(spec).finish();
  const body = Buffer.concat([Buffer.from('k8s\0'), protobufRoot().lookupType(UNKNOWN_MESSAGE).encode({ typeMeta: { apiVersion: 'v1', kind: 'Pod' }, raw: pod }).finish()]);
  assert.equal(ctx.fields.supplementalGroups.id, 4);
  assert.deepEqual(decode(body).spec, { securityContext: { supplementalGroups: [5, 6] } });
});

test('mutated bodies (seeded) decode or fail as a BadRequest or 415, and leave Object.prototype alone', () => {
  let seed = 13;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const base = protobufBody({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', labels: { a: 'b' } }, spec: { template: TEMPLATE } });
  const codes = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(base);
    for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) b[4 + Math.floor(rand() * (b.length - 4))] = Math.floor(rand() * 256);
    const body = rand() < 0.2 ? b.subarray(0, 4 + Math.floor(rand() * (b.length - 4))) : b;
    let code = 'decoded';
    try { decodeKubernetesProtobuf(body); } catch (e) { code = (e as { code?: string }).code ?? `thrown ${(e as Error).name}`; }
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  assert.deepEqual([...codes.keys()].filter((c) => !['decoded', 'BadRequest', 'UnsupportedMediaType'].includes(c)), [], JSON.stringify([...codes]));
  assert.ok((codes.get('BadRequest') ?? 0) > 100 && (codes.get('UnsupportedMediaType') ?? 0) > 10, JSON.stringify([...codes]));
  assert.equal(Object.keys(Object.prototype).length, 0);
});
