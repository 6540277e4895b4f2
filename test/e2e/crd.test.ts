// CustomResourceDefinitions with the real kubectl against a real apiserver and etcd: a CRD with a schema, defaults,
// a CEL rule, status and scale subresources, printer columns and two versions; its kind served at once; invalid
// objects refused with field paths; unknown fields pruned (refused with --validate=strict); the CRD's deletion
// taking its objects; and the bad input the issue lists.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Etcd3 } from 'etcd3';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { until } from '../harness/docker-kubelet.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
type Obj = Record<string, any>;

describe('CustomResourceDefinitions', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let home: string;
  const kubectl = async (...args: string[]) => (await run('kubectl', ['--kubeconfig', path.join(home, 'kubeconfig'), ...args],
    { encoding: 'utf8', env: { ...process.env, HOME: home }, maxBuffer: 64 << 20 })).stdout;
  const fails = async (...args: string[]) => {
    const e = await kubectl(...args).then(() => undefined, (err) => err);
    assert.ok(e, `kubectl ${args.join(' ')} should fail`);
    return String(e.stderr);
  };
  const apply = (obj: Obj, ...extra: string[]) => {
    const f = path.join(home, `${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, JSON.stringify(obj));
    return kubectl('apply', '-f', f, ...extra);
  };
  const webapp = (name: string, spec: Obj, apiVersion = 'demo.kubemu.io/v1') => ({ apiVersion, kind: 'WebApp', metadata: { name, namespace: 'default' }, spec });

  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-crd-'));
    fs.writeFileSync(path.join(home, 'kubeconfig'), kubeconfigYaml({ server: api.url }));
    await kubectl('apply', '-f', path.join(ROOT, 'examples/crd/webapp-crd.yaml'));
    await until('the CRD Established', async () => /Established/.test(await kubectl('get', 'crd', 'webapps.demo.kubemu.io', '-o', 'jsonpath={.status.conditions[*].type}')), 10_000);
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); fs.rmSync(home, { recursive: true, force: true }); });

  test('the CRD is Established and its kind is in discovery with short names and categories', async () => {
    const crd = JSON.parse(await kubectl('get', 'crd', 'webapps.demo.kubemu.io', '-o', 'json'));
    const cond = (t: string) => crd.status.conditions.find((c: Obj) => c.type === t);
    assert.equal(cond('Established').status, 'True');
    assert.equal(cond('NamesAccepted').reason, 'NoConflicts');
    assert.deepEqual(crd.status.storedVersions, ['v1']);
    assert.equal(crd.status.acceptedNames.kind, 'WebApp');
    assert.ok(crd.metadata.finalizers.includes('customresourcecleanup.apiextensions.k8s.io'));
    const resources = await kubectl('api-resources', '--api-group=demo.kubemu.io');
    assert.match(resources, /^webapps\s+wa\s+demo\.kubemu\.io\/v1\s+true\s+WebApp\s*$/m);
    assert.match(await kubectl('api-versions'), /^demo\.kubemu\.io\/v1$/m);
  });

  test('create, defaults, get with printer columns, short name, scale, status, watch', async () => {
    await kubectl('apply', '-f', path.join(ROOT, 'examples/crd/webapp.yaml'));
    const obj = JSON.parse(await kubectl('get', 'webapp', 'hello', '-o', 'json'));
    assert.equal(obj.apiVersion, 'demo.kubemu.io/v1');
    assert.deepEqual(obj.spec, { image: 'kubemu/hello:1', replicas: 2, maxReplicas: 5, tier: 'frontend' });
    assert.equal(obj.metadata.generation, 1);
    assert.match(await kubectl('get', 'wa'), /^NAME\s+IMAGE\s+DESIRED\s+PHASE\s+AGE\nhello\s+kubemu\/hello:1\s+2\s+\d+s$/m);
    await kubectl('scale', 'webapp', 'hello', '--replicas=3');
    assert.equal(JSON.parse(await kubectl('get', 'webapp', 'hello', '-o', 'json')).spec.replicas, 3);
    // status only through the status subresource
    await kubectl('patch', 'webapp', 'hello', '--type=merge', '-p', '{"status":{"phase":"Ignored"}}');
    assert.equal(JSON.parse(await kubectl('get', 'webapp', 'hello', '-o', 'json')).status, undefined);
    await kubectl('patch', 'webapp', 'hello', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running","replicas":3,"selector":"app=hello"}}');
    assert.match(await kubectl('get', 'webapp', 'hello'), /hello\s+kubemu\/hello:1\s+3\s+Running/);
    const scale = JSON.parse(await kubectl('get', '--raw', '/apis/demo.kubemu.io/v1/namespaces/default/webapps/hello/scale'));
    assert.deepEqual([scale.kind, scale.spec.replicas, scale.status.replicas, scale.status.selector], ['Scale', 3, 3, 'app=hello']);
    assert.equal(JSON.parse(await kubectl('get', 'webapp', 'hello', '-o', 'json')).metadata.generation, 2);
    // the other served version: the same object, its apiVersion rewritten, and a deprecation warning
    const { stdout, stderr } = await run('kubectl', ['--kubeconfig', path.join(home, 'kubeconfig'), 'get', 'webapps.v1beta1.demo.kubemu.io', 'hello', '-o', 'json'], { encoding: 'utf8', env: { ...process.env, HOME: home } });
    assert.equal(JSON.parse(stdout).apiVersion, 'demo.kubemu.io/v1beta1');
    assert.match(stderr, /Warning: demo\.kubemu\.io\/v1beta1 WebApp is deprecated/);
    assert.match(await kubectl('get', 'all'), /webapp\.demo\.kubemu\.io\/hello/);
    // a strategic merge patch is refused as for every custom resource
    assert.match(await fails('patch', 'webapp', 'hello', '--type=strategic', '-p', '{"spec":{"replicas":1}}'), /the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/);
    const w = execFile('kubectl', ['--kubeconfig', path.join(home, 'kubeconfig'), 'get', 'webapps', '-w', '--output-watch-events'], { env: { ...process.env, HOME: home } });
    let seen = '';
    w.stdout!.on('data', (d) => { seen += d; });
    w.stderr!.on('data', (d) => { seen += d; });
    await until('the watch started', async () => /ADDED/.test(seen)).catch((e) => { throw new Error(`${e.message}: ${seen}`); });
    await apply(webapp('watched', { image: 'kubemu/hello:1' }));
    await kubectl('delete', 'webapp', 'watched');
    await until('ADDED and DELETED of watched', async () => /ADDED\s+watched[\s\S]*DELETED\s+watched/.test(seen));
    w.kill();
  });

  test('invalid objects get 422 with field paths; the CEL rule; unknown fields pruned, or refused with --validate=strict', async () => {
    const tooMany = await apply(webapp('too-many', { image: 'x', replicas: 20 })).then(() => '', (e) => String(e.stderr));
    assert.match(tooMany, /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 10/);
    const wrong = await apply(webapp('wrong', { image: 'x', replicas: 'two', tier: 'middle' })).then(() => '', (e) => String(e.stderr));
    assert.match(wrong, /spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer: "string"/);
    assert.match(wrong, /spec\.tier: Unsupported value: "middle": supported values: "frontend", "backend"/);
    const missing = await apply(webapp('missing', { replicas: 1 })).then(() => '', (e) => String(e.stderr));
    assert.match(missing, /spec\.image: Required value/);
    const rule = await apply(webapp('rule', { image: 'x', replicas: 7, maxReplicas: 6 })).then(() => '', (e) => String(e.stderr));
    assert.match(rule, /The WebApp "rule" is invalid: spec: Invalid value: "object": replicas must not exceed maxReplicas/);
    assert.match(await fails('patch', 'webapp', 'hello', '--type=merge', '-p', '{"spec":{"tier":"backend"}}'), /spec: Invalid value: "object": tier is immutable/);
    await apply(webapp('extra', { image: 'x', colour: 'blue' }), '--validate=false');
    assert.equal(JSON.parse(await kubectl('get', 'webapp', 'extra', '-o', 'json')).spec.colour, undefined);
    const strict = await apply(webapp('strict', { image: 'x', colour: 'blue' }), '--validate=strict').then(() => '', (e) => String(e.stderr));
    assert.match(strict, /unknown field "spec\.colour"/);
    // x-kubernetes-int-or-string takes both
    await apply(webapp('port-name', { image: 'x', port: 'http' }));
    await apply(webapp('port-number', { image: 'x', port: 8080 }));
    assert.match(await apply(webapp('port-bool', { image: 'x', port: true })).then(() => '', (e) => String(e.stderr)), /spec\.port: Invalid value: "boolean"/);
  });

  test('kubectl explain shows the schema', async () => {
    const out = await kubectl('explain', 'webapp.spec');
    assert.match(out, /KIND:\s+WebApp/);
    assert.match(out, /replicas\s+<integer>/);
    assert.match(out, /image\s+<string> -required-/);
  });

  test('bad input: invalid and non-structural schemas, a rule that does not compile, a wrong name', async () => {
    const crd = (name: string, schema: Obj, extra: Obj = {}) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name },
      spec: { group: 'bad.kubemu.io', scope: 'Namespaced', names: { plural: 'things', kind: 'Thing' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }], ...extra } });
    const err = (o: Obj) => apply(o).then(() => '', (e) => String(e.stderr));
    assert.match(await err(crd('things.bad.kubemu.io', { type: 'object', properties: { spec: { properties: { a: { type: 'string' } } } } })),
      /spec\.versions\[0\]\.schema\.openAPIV3Schema\.properties\[spec\]\.type: Required value: must not be empty for specified object fields/);
    assert.match(await err(crd('things.bad.kubemu.io', { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a ++' }] } } })),
      /x-kubernetes-validations\[0\]\.rule: Invalid value: "self\.a \+\+": compilation failed: ERROR: <input>:1:/);
    assert.match(await err(crd('wrong.bad.kubemu.io', { type: 'object' })), /metadata\.name: Invalid value: "wrong\.bad\.kubemu\.io": must be spec\.names\.plural\+"\."\+spec\.group/);
    assert.match(await err({ ...crd('things.bad.kubemu.io', { type: 'object' }), spec: { ...crd('x', {}).spec, versions: [] } }), /must have exactly one version marked as storage version/);
    assert.match(await err(crd('things.bad.kubemu.io', { type: 'object' }, { conversion: { strategy: 'Webhook' } })), /spec\.conversion\.strategy: Unsupported value: "Webhook": supported values: "None"/);
    assert.match(await err(crd('things.bad.kubemu.io', { type: 'string' })), /openAPIV3Schema\.type: Invalid value: "string": must be object at the root/);
    // a 10 MB custom object is refused, the apiserver unharmed
    const big = await apply(webapp('big', { image: 'x', blob: 'x'.repeat(10 << 20) })).then(() => '', (e) => String(e.stderr));
    assert.match(big, /too large|Request entity too large|413/i);
    assert.match(await kubectl('get', 'webapp', 'hello'), /hello/);
  });

  test('label and field selectors, a cluster-scoped kind, and client-node KubernetesObjectApi on a custom object', async () => {
    await apply({ ...webapp('labelled', { image: 'x' }), metadata: { name: 'labelled', namespace: 'default', labels: { team: 'a' } } });
    assert.equal((await kubectl('get', 'webapps', '-l', 'team=a', '-o', 'name')).trim(), 'webapp.demo.kubemu.io/labelled');
    assert.equal((await kubectl('get', 'webapps', '--field-selector', 'metadata.name=hello', '-o', 'name')).trim(), 'webapp.demo.kubemu.io/hello');
    assert.match(await fails('get', 'webapps', '--field-selector', 'spec.image=x'), /field label not supported: spec\.image/);
    await apply({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'clusterthings.demo.kubemu.io' },
      spec: { group: 'demo.kubemu.io', scope: 'Cluster', names: { plural: 'clusterthings', kind: 'ClusterThing' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }] } });
    await until('ClusterThing served', async () => /clusterthings/.test(await kubectl('api-resources', '--api-group=demo.kubemu.io', '--cache-dir', path.join(home, `c${Date.now()}`))), 10_000);
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfigYaml({ server: api.url }));
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const made = await objects.create({ apiVersion: 'demo.kubemu.io/v1', kind: 'ClusterThing', metadata: { name: 'big-one' }, spec: { size: 3 } } as k8s.KubernetesObject);
    assert.equal(made.metadata?.namespace, undefined);
    await objects.patch({ apiVersion: 'demo.kubemu.io/v1', kind: 'ClusterThing', metadata: { name: 'big-one' }, spec: { size: 4 } } as k8s.KubernetesObject,
      undefined, undefined, 'test', undefined, k8s.PatchStrategy.MergePatch);
    const read = await objects.read({ apiVersion: 'demo.kubemu.io/v1', kind: 'ClusterThing', metadata: { name: 'big-one' } }) as Obj;
    assert.equal(read.spec.size, 4);
    const sa = await objects.patch({ apiVersion: 'demo.kubemu.io/v1', kind: 'WebApp', metadata: { name: 'applied', namespace: 'default' }, spec: { image: 'y' } } as k8s.KubernetesObject,
      undefined, undefined, 'test', true, k8s.PatchStrategy.ServerSideApply) as Obj;
    assert.equal(sa.spec.replicas, 1, 'server-side apply creates, with defaults');
    assert.match(await kubectl('get', 'clusterthings'), /big-one/);
    await objects.delete({ apiVersion: 'demo.kubemu.io/v1', kind: 'ClusterThing', metadata: { name: 'big-one' } });
    await kubectl('delete', 'crd', 'clusterthings.demo.kubemu.io', '--wait=true', '--timeout=60s');
  });

  test('deleting the CRD deletes its objects; then the kind is gone', async () => {
    await kubectl('delete', 'crd', 'webapps.demo.kubemu.io', '--wait=true', '--timeout=60s');
    // with a stale discovery cache kubectl gets a 404 on the list; with a fresh one the kind is unknown
    assert.match(await fails('get', 'webapps'), /the server could not find the requested resource|the server doesn't have a resource type "webapps"/);
    assert.match(await fails('get', 'webapps', '--cache-dir', path.join(home, 'fresh-cache')), /the server doesn't have a resource type "webapps"/);
    const etcd = new Etcd3({ hosts: api.etcd.endpoint });
    const left = await etcd.getAll().prefix('/registry/demo.kubemu.io/').keys().finally(() => etcd.close());
    assert.deepEqual(left, [], 'no WebApp left in etcd');
    const gone = await apply(webapp('late', { image: 'x' }), '--cache-dir', path.join(home, 'fresh-cache-2')).then(() => '', (e) => String(e.stderr));
    assert.match(gone, /no matches for kind "WebApp" in version "demo\.kubemu\.io\/v1"|resource mapping not found/);
  });
});
