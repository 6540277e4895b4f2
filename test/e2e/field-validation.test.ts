// fieldValidation, typed decoding and write-option checks of a real apiserver over a real etcd, over
// plain HTTP and through the real kubectl (1.32 via the machine's dispatcher).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { kubectlApiServer, type KubectlApiServer } from '../harness/apiserver.ts';

interface Reply { status: number; body: any; warnings: string[] }

describe('fieldValidation and typed decoding', () => {
  const cleanups: Array<() => unknown> = [];
  let api: KubectlApiServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    api = await kubectlApiServer({ after: (fn) => cleanups.push(fn) }, 'fv');
    ({ dir, kubeconfig } = api);
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  async function call(method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
    const res = await fetch(api.url + urlPath, {
      method, headers: body === undefined ? {} : { 'Content-Type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any = text;
    try { parsed = JSON.parse(text); } catch { /* plain text */ }
    const warnings = (res.headers.get('warning') ?? '').split(/,\s*(?=299 )/).filter(Boolean);
    return { status: res.status, body: parsed, warnings };
  }

  function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const home = path.join(dir, 'home');
    fs.mkdirSync(home, { recursive: true });
    return new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: home }, timeout: 30_000, cwd: dir },
        (err, stdout, stderr) => resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout, stderr }));
    });
  }

  const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';
  const deployment = (name: string, extra: { spec?: object; container?: object } = {}) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } }, ...extra.spec,
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx', ...extra.container }] } },
    },
  });
  const typo = (name: string) => deployment(name, { spec: { replica: 3 }, container: { imagee: 'x' } });
  const unknownBoth = 'unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagee"';

  test('Strict: unknown fields are a 400 in Kubernetes\' words and nothing is stored', async () => {
    const r = await call('POST', `${DEPLOYS}?fieldValidation=Strict`, typo('strict'));
    assert.equal(r.status, 400);
    assert.equal(r.body.reason, 'BadRequest');
    assert.equal(r.body.message, `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ${unknownBoth}`);
    assert.equal((await call('GET', `${DEPLOYS}/strict`)).status, 404);
    // Duplicate fields are strict errors too (JSON.parse alone would keep the last one silently).
    const dup = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup"},"data":{"a":"1","a":"2"}}';
    const d = await call('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', dup);
    assert.equal(d.status, 400);
    assert.equal(d.body.message, 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "metadata.name", duplicate field "data.a"');
  });

  test('Warn (the server default) answers with Warning headers and drops the unknown fields; Ignore drops them silently', async () => {
    for (const [q, name] of [['?fieldValidation=Warn', 'warn'], ['', 'default']]) {
      const r = await call('POST', `${DEPLOYS}${q}`, typo(name));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.warnings, ['299 - "unknown field \\"spec.replica\\""', '299 - "unknown field \\"spec.template.spec.containers[0].imagee\\""']);
      const stored = (await call('GET', `${DEPLOYS}/${name}`)).body;
      assert.equal(stored.spec.replicas, 1);
      assert.equal('replica' in stored.spec, false);
      assert.deepEqual(Object.keys(stored.spec.template.spec.containers[0]).includes('imagee'), false);
    }
    const r = await call('POST', `${DEPLOYS}?fieldValidation=Ignore`, typo('ignore'));
    assert.equal(r.status, 201);
    assert.deepEqual(r.warnings, []);
    assert.equal('imagee' in (await call('GET', `${DEPLOYS}/ignore`)).body.spec.template.spec.containers[0], false);
    // PUT checks its body the same way.
    const cur = (await call('GET', `${DEPLOYS}/ignore`)).body;
    cur.spec.paused2 = true;
    const u = await call('PUT', `${DEPLOYS}/ignore?fieldValidation=Strict`, cur);
    assert.equal(u.status, 400);
    assert.equal(u.body.message, 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.paused2"');
  });

  test('wrong types are a 400 in every mode, in Go encoding/json\'s words', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: ['a', 'b'] };
    for (const fv of ['Ignore', 'Warn', 'Strict']) {
      const r = await call('POST', `/api/v1/namespaces/default/secrets?fieldValidation=${fv}`, secret);
      assert.equal(r.status, 400, fv);
      assert.equal(r.body.message, 'Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal array into Go struct field Secret.stringData of type map[string]string');
    }
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
      spec: { containers: [{ name: 'a', image: 'x' }], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ nodeSelectorTerms: [] }] } } },
    };
    const r = await call('POST', '/api/v1/namespaces/default/pods', pod);
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal array into Go struct field NodeAffinity.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution of type v1.NodeSelector');
    assert.equal((await call('GET', '/api/v1/namespaces/default/pods/p')).status, 404);
  });

  test('bad write options: fieldValidation, dryRun, apply without fieldManager', async () => {
    const fv = await call('POST', `${DEPLOYS}?fieldValidation=Bogus`, deployment('fv'));
    assert.equal(fv.status, 422);
    assert.equal(fv.body.message, 'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Bogus": supported values: "", "Ignore", "Strict", "Warn"');
    const dry = await call('POST', `${DEPLOYS}?dryRun=Bogus`, deployment('dry'));
    assert.equal(dry.status, 422);
    assert.equal(dry.body.message, 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Bogus"}: supported values: "All"');
    assert.equal((await call('GET', `${DEPLOYS}/dry`)).status, 404);
    assert.equal((await call('POST', `${DEPLOYS}?dryRun=All`, deployment('dry'))).status, 201);
    assert.equal((await call('GET', `${DEPLOYS}/dry`)).status, 404);
    const del = await call('DELETE', `${DEPLOYS}/warn?dryRun=Bogus`);
    assert.equal(del.status, 422);
    assert.equal(del.body.message, 'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Bogus"}: supported values: "All"');
    assert.equal((await call('GET', `${DEPLOYS}/warn`)).status, 200);
    const apply = await call('PATCH', `${DEPLOYS}/applied`, deployment('applied'), 'application/apply-patch+yaml');
    assert.equal(apply.status, 422);
    assert.equal(apply.body.message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    assert.equal((await call('GET', `${DEPLOYS}/applied`)).status, 404);
  });

  test('patches: the patched object is decoded, the patch body checked for duplicates', async () => {
    const merge = await call('PATCH', `${DEPLOYS}/warn?fieldValidation=Strict`, { spec: { replica: 3 } }, 'application/merge-patch+json');
    assert.equal(merge.status, 422);
    assert.match(merge.body.message, /^ "" is invalid: patch: Invalid value: "\{.*\}": strict decoding error: unknown field "spec\.replica"$/);
    const smp = await call('PATCH', `${DEPLOYS}/warn?fieldValidation=Strict`, { spec: { replica: 3, paused: false } }, 'application/strategic-merge-patch+json');
    assert.equal(smp.status, 422);
    assert.equal(smp.body.message, ' "" is invalid: patch: Invalid value: "map[spec:map[paused:false replica:3]]": strict decoding error: unknown field "spec.replica"');
    const dup = await call('PATCH', `${DEPLOYS}/warn?fieldValidation=Warn`, '{"spec":{"paused":true,"paused":false}}', 'application/merge-patch+json');
    assert.equal(dup.status, 200);
    assert.deepEqual(dup.warnings, ['299 - "duplicate field \\"spec.paused\\""']);
    const warn = await call('PATCH', `${DEPLOYS}/warn`, { spec: { replica: 3 } }, 'application/merge-patch+json');
    assert.equal(warn.status, 200);
    assert.deepEqual(warn.warnings, ['299 - "unknown field \\"spec.replica\\""']);
    assert.equal('replica' in (await call('GET', `${DEPLOYS}/warn`)).body.spec, false);
    const typed = await call('PATCH', `${DEPLOYS}/warn?fieldValidation=Ignore`, [{ op: 'replace', path: '/spec/replicas', value: 'three' }], 'application/json-patch+json');
    assert.equal(typed.status, 422);
    assert.match(typed.body.message, /: json: cannot unmarshal string into Go struct field DeploymentSpec\.spec\.replicas of type int32$/);
    // Server-side apply checks the applied configuration itself, in every mode.
    const ssa = await call('PATCH', `${DEPLOYS}/applied?fieldManager=test&fieldValidation=Ignore`, { ...deployment('applied'), spec: { ...deployment('applied').spec, replica: 3 } }, 'application/apply-patch+yaml');
    assert.equal(ssa.status, 500);
    assert.equal(ssa.body.message, 'failed to create typed patch object (/applied; apps/v1, Kind=Deployment): .spec.replica: field not declared in schema');
  });

  test('kubectl apply of a Deployment with `replica: 3` fails with the strict error; --validate=warn warns', async () => {
    const manifest = path.join(dir, 'deploy.yaml');
    fs.writeFileSync(manifest, [
      'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: typo', 'spec:', '  replica: 3',
      '  selector:', '    matchLabels: {app: typo}', '  template:', '    metadata:', '      labels: {app: typo}',
      '    spec:', '      containers:', '      - name: web', '        image: nginx', '',
    ].join('\n'));
    const r = await kubectl(['apply', '-f', manifest]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim(), `Error from server (BadRequest): error when creating "${manifest}": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica"`);
    assert.equal((await call('GET', `${DEPLOYS}/typo`)).status, 404);
    const w = await kubectl(['apply', '--validate=warn', '-f', manifest]);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stderr, /^Warning: unknown field "spec\.replica"$/m);
    assert.match(w.stdout, /deployment\.apps\/typo created/);
    // An existing object: client-side apply sends a strategic merge patch, refused as the patched result.
    const good = fs.readFileSync(manifest, 'utf8').replace('  replica: 3\n', '').replaceAll('typo', 'later');
    fs.writeFileSync(manifest, good);
    assert.equal((await kubectl(['apply', '-f', manifest])).code, 0);
    fs.writeFileSync(manifest, good.replace('spec:\n', 'spec:\n  replica: 3\n'));
    const p = await kubectl(['apply', '-f', manifest]);
    assert.notEqual(p.code, 0);
    assert.match(p.stderr.trim(), /^The request is invalid: patch: Invalid value: "map\[metadata:map\[annotations:map\[kubectl\.kubernetes\.io\/last-applied-configuration:\{\\".*\}\\n\]\] spec:map\[replica:3\]\]": strict decoding error: unknown field "spec\.replica"$/s);
  });

  test('kubectl explain walks the OpenAPI v3 schemas', async () => {
    const spec = await kubectl(['explain', 'deployment.spec']);
    assert.equal(spec.code, 0, spec.stderr);
    assert.match(spec.stdout, /^GROUP:\s+apps\nKIND:\s+Deployment\nVERSION:\s+v1\n/);
    assert.match(spec.stdout, /^FIELD: spec <DeploymentSpec>$/m);
    assert.match(spec.stdout, /^ {2}replicas\t<integer>\n {4}Number of desired pods\./m);
    assert.match(spec.stdout, /^ {2}template\t<PodTemplateSpec> -required-$/m);
    const containers = await kubectl(['explain', 'pod.spec.containers']);
    assert.equal(containers.code, 0, containers.stderr);
    assert.match(containers.stdout, /^KIND:\s+Pod\nVERSION:\s+v1\n/);
    assert.match(containers.stdout, /^FIELD: containers <\[\]Container>$/m);
    for (const line of ['name\t<string> -required-', 'image\t<string>', 'ports\t<[]ContainerPort>', 'resources\t<ResourceRequirements>', 'env\t<[]EnvVar>']) {
      assert.ok(containers.stdout.split('\n').includes(`  ${line}`), `${line} in:\n${containers.stdout}`);
    }
    const typed = await kubectl(['explain', 'deployment.spec.strategy.rollingUpdate.maxSurge']);
    assert.match(typed.stdout, /^FIELD: maxSurge <IntOrString>$/m);
    const limits = await kubectl(['explain', 'pod.spec.containers.resources.limits']);
    assert.match(limits.stdout, /^FIELD: limits <map\[string\]Quantity>$/m);
    const recursive = await kubectl(['explain', 'cronjob.spec.jobTemplate.spec.template.spec.containers.name', '--recursive']);
    assert.match(recursive.stdout, /^FIELD: name <string>$/m);
    const missing = await kubectl(['explain', 'deployment.spec.replica']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /field "replica" does not exist/);
  });
});
