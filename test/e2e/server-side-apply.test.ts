// Server-side apply and managedFields through the real kubectl (1.32 on PATH, and 1.27 / 1.33) against a real
// apiserver over a real etcd: fields dropped from the file are removed, managers conflict and force, kubectl
// hides managedFields unless asked, `kubectl diff` (server-side dry runs), `apply --prune`, and the
// client-side → server-side migration kubectl performs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { kubectlApiServer, type KubectlApiServer } from '../harness/apiserver.ts';
import { kubectlVersion } from '../harness/docker-kubelet.ts';

const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/server-side-apply');

interface Run { code: number; stdout: string; stderr: string }

describe('server-side apply with the real kubectl', () => {
  const cleanups: Array<() => unknown> = [];
  let api: KubectlApiServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    api = await kubectlApiServer({ after: (fn) => cleanups.push(fn) }, 'ssa');
    ({ dir, kubeconfig } = api);
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  function kubectl(args: string[], bin = 'kubectl'): Promise<Run> {
    const home = path.join(dir, 'home');
    fs.mkdirSync(home, { recursive: true });
    return new Promise((resolve) => {
      execFile(bin, ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: home }, timeout: 30_000, cwd: dir },
        (err, stdout, stderr) => resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout, stderr }));
    });
  }
  async function ok(args: string[], bin?: string): Promise<string> {
    const r = await kubectl(args, bin);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  const getJson = async (what: string) => JSON.parse(await ok(['get', what, '-o', 'json', '--show-managed-fields']));
  const managers = (obj: any) => (obj.metadata.managedFields ?? []).map((m: any) => `${m.manager}/${m.operation}${m.subresource ? `/${m.subresource}` : ''}`);
  const owned = (obj: any, manager: string) => obj.metadata.managedFields?.find((m: any) => m.manager === manager)?.fieldsV1;

  /** A Deployment manifest written to a file; returns its path. */
  function deployment(file: string, name: string, opts: { replicas?: number; labels?: Record<string, string>; env?: boolean } = {}): string {
    const spec: any = {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.27', ...(opts.env ? { env: [{ name: 'MODE', value: 'x' }] } : {}) }] },
      },
    };
    if (opts.replicas !== undefined) spec.replicas = opts.replicas;
    const obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name, ...opts.labels } }, spec };
    const p = path.join(dir, file);
    fs.writeFileSync(p, JSON.stringify(obj));
    return p;
  }

  for (const minor of [27, 32, 33]) {
    test(`kubectl 1.${minor}: a field dropped from the file is removed on the next server-side apply`, async () => {
      const bin = minor === 32 ? 'kubectl' : kubectlVersion(minor);
      const name = `drop-${minor}`;
      const f = deployment(`${name}.json`, name, { replicas: 3, labels: { tier: 'front' }, env: true });
      assert.match(await ok(['apply', '--server-side', '-f', f], bin), new RegExp(`deployment.apps/${name} serverside-applied`));
      let d = await getJson(`deployment/${name}`);
      assert.deepEqual(managers(d), ['kubectl/Apply']);
      assert.deepEqual(owned(d, 'kubectl')['f:spec']['f:replicas'], {});
      assert.equal(d.spec.replicas, 3);
      deployment(`${name}.json`, name, {});
      await ok(['apply', '--server-side', '-f', f], bin);
      d = await getJson(`deployment/${name}`);
      assert.equal(d.metadata.labels.tier, undefined, 'the label kubectl stopped applying is gone');
      assert.equal(d.spec.replicas, 1, 'replicas no longer applied: back to its default');
      assert.equal(d.spec.template.spec.containers[0].env, undefined, 'env no longer applied');
      assert.equal(d.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent', 'defaults stay');
      assert.equal(owned(d, 'kubectl')['f:spec']['f:replicas'], undefined);
    });
  }

  test('get -o yaml hides managedFields; --show-managed-fields shows them', async () => {
    const f = deployment('show.json', 'show', { replicas: 2 });
    await ok(['apply', '--server-side', '--field-manager=alice', '-f', f]);
    assert.doesNotMatch(await ok(['get', 'deployment/show', '-o', 'yaml']), /managedFields/);
    const shown = await ok(['get', 'deployment/show', '-o', 'yaml', '--show-managed-fields']);
    assert.match(shown, /managedFields:/);
    assert.match(shown, /manager: alice\n\s+operation: Apply/);
    assert.match(shown, /fieldsType: FieldsV1/);
    assert.match(shown, /f:replicas: \{\}/);
    assert.match(shown, /k:\{"name":"web"\}:/);
  });

  test('two field managers conflict (409, printed by kubectl) until one forces; equal values are shared', async () => {
    const a = deployment('conflict-a.json', 'conflict', { replicas: 2 });
    await ok(['apply', '--server-side', '--field-manager=alice', '-f', a]);
    const b = deployment('conflict-b.json', 'conflict', { replicas: 5 });
    const r = await kubectl(['apply', '--server-side', '--field-manager=bob', '-f', b]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Apply failed with 1 conflict: conflict with "alice": \.spec\.replicas/);
    assert.match(r.stderr, /--force-conflicts/);
    assert.equal((await getJson('deployment/conflict')).spec.replicas, 2);

    // The same value as alice's: no conflict, both own it.
    deployment('conflict-b.json', 'conflict', { replicas: 2 });
    await ok(['apply', '--server-side', '--field-manager=bob', '-f', b]);
    let d = await getJson('deployment/conflict');
    assert.deepEqual(owned(d, 'alice')['f:spec']['f:replicas'], {});
    assert.deepEqual(owned(d, 'bob')['f:spec']['f:replicas'], {});

    deployment('conflict-b.json', 'conflict', { replicas: 5 });
    await ok(['apply', '--server-side', '--field-manager=bob', '--force-conflicts', '-f', b]);
    d = await getJson('deployment/conflict');
    assert.equal(d.spec.replicas, 5);
    assert.equal(owned(d, 'alice')['f:spec']['f:replicas'], undefined, 'forcing took replicas from alice');
    assert.deepEqual(owned(d, 'bob')['f:spec']['f:replicas'], {});

    // An update (kubectl scale) conflicts with the applier too, and names the version it used.
    await ok(['scale', 'deployment/conflict', '--replicas=4']);
    const again = await kubectl(['apply', '--server-side', '--field-manager=bob', '-f', b]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps\/v1: \.spec\.replicas/);
  });

  test('the conflict Status carries FieldManagerConflict causes', async () => {
    const body = JSON.parse(fs.readFileSync(deployment('status-a.json', 'status-409', { replicas: 2, labels: { x: 'a' } }), 'utf8'));
    const url = `${api.url}/apis/apps/v1/namespaces/default/deployments/status-409?fieldManager=`;
    const put = (manager: string, obj: unknown) => fetch(url + manager, { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: JSON.stringify(obj) });
    assert.equal((await put('alice', body)).status, 201);
    body.spec.replicas = 3; body.metadata.labels.x = 'b';
    const res = await put('bob', body);
    assert.equal(res.status, 409);
    const st: any = await res.json();
    assert.equal(st.reason, 'Conflict');
    assert.equal(st.message, 'Apply failed with 2 conflicts: conflicts with "alice":\n- .metadata.labels.x\n- .spec.replicas');
    assert.deepEqual(st.details.causes, [
      { reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.metadata.labels.x' },
      { reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.replicas' },
    ]);
    const missing = await fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: JSON.stringify(body) });
    assert.equal(missing.status, 422);
    assert.match(((await missing.json()) as any).message, /fieldManager: Required value: is required for apply patch/);
    const long = await put('x'.repeat(129), body);
    assert.equal(long.status, 422);
    assert.match(((await long.json()) as any).message, /fieldManager: Too long: may not be more than 128 bytes/);
  });

  test('kubectl diff: exit 1 with a diff when the file differs, 0 when the same (client-side and --server-side)', async () => {
    const f = deployment('diff.json', 'diff', { replicas: 2 });
    await ok(['apply', '-f', f]);
    assert.equal((await kubectl(['diff', '-f', f])).code, 0);
    deployment('diff.json', 'diff', { replicas: 4 });
    let r = await kubectl(['diff', '-f', f]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /-\s+replicas: 2/);
    assert.match(r.stdout, /\+\s+replicas: 4/);
    assert.equal((await getJson('deployment/diff')).spec.replicas, 2, 'a dry run changes nothing');

    const s = deployment('diff-ssa.json', 'diff-ssa', { replicas: 2 });
    await ok(['apply', '--server-side', '-f', s]);
    assert.equal((await kubectl(['diff', '--server-side', '-f', s])).code, 0);
    deployment('diff-ssa.json', 'diff-ssa', {});
    r = await kubectl(['diff', '--server-side', '-f', s]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /-\s+replicas: 2/);
    assert.match(r.stdout, /\+\s+replicas: 1/);
    assert.equal((await getJson('deployment/diff-ssa')).spec.replicas, 2);
  });

  // kubectl's default prune list names kinds kubemu does not serve (PersistentVolumeClaim…): the test names its kind.
  test('apply --prune -l deletes labelled objects no longer in the files', async () => {
    const pruneDir = path.join(dir, 'prune');
    fs.mkdirSync(pruneDir);
    const cm = (name: string) => fs.writeFileSync(path.join(pruneDir, `${name}.json`),
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'prune' } }, data: { k: name } }));
    cm('keep'); cm('drop');
    await ok(['apply', '--prune', '-l', 'app=prune', '--prune-allowlist=core/v1/ConfigMap', '-f', pruneDir]);
    fs.rmSync(path.join(pruneDir, 'drop.json'));
    const out = await ok(['apply', '--prune', '-l', 'app=prune', '--prune-allowlist=core/v1/ConfigMap', '-f', pruneDir]);
    assert.match(out, /configmap\/drop pruned/);
    assert.equal((await kubectl(['get', 'configmap/drop'])).code, 1);
    await ok(['get', 'configmap/keep']);
  });

  test('client-side apply, then --server-side: kubectl migrates the ownership, and later removals work', async () => {
    const f = deployment('migrate.json', 'migrate', { replicas: 3, labels: { tier: 'front' } });
    await ok(['apply', '-f', f]);
    let d = await getJson('deployment/migrate');
    assert.deepEqual(managers(d), ['kubectl-client-side-apply/Update']);
    assert.ok(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    await ok(['apply', '--server-side', '-f', f]);
    d = await getJson('deployment/migrate');
    assert.ok(managers(d).includes('kubectl/Apply'), managers(d).join(' '));
    assert.equal(owned(d, 'kubectl-client-side-apply')?.['f:spec']?.['f:replicas'], undefined, 'the client-side manager no longer owns replicas');
    deployment('migrate.json', 'migrate', {});
    await ok(['apply', '--server-side', '-f', f]);
    d = await getJson('deployment/migrate');
    assert.equal(d.metadata.labels.tier, undefined);
    assert.equal(d.spec.replicas, 1);
  });

  test('status writes keep their own manager; an apply to status owns status only', async () => {
    const f = deployment('status.json', 'status', { replicas: 1 });
    await ok(['apply', '--server-side', '-f', f]);
    const res = await fetch(`${api.url}/apis/apps/v1/namespaces/default/deployments/status/status?fieldManager=ctrl`, {
      method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ status: { observedGeneration: 1 } }),
    });
    assert.equal(res.status, 200);
    const d = await getJson('deployment/status');
    assert.deepEqual(managers(d).sort(), ['ctrl/Update/status', 'kubectl/Apply']);
    assert.deepEqual(owned(d, 'ctrl'), { 'f:status': { 'f:observedGeneration': {} } });

    // An apply to status owns only status fields, and conflicts with the status updater it would overrule.
    const statusApply = (manager: string, status: object, force = false) => fetch(`${api.url}/apis/apps/v1/namespaces/default/deployments/status/status?fieldManager=${manager}${force ? '&force=true' : ''}`, {
      method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' },
      body: JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'status' }, spec: { replicas: 9 }, status }),
    });
    const clash = await statusApply('reporter', { observedGeneration: 2 });
    assert.equal(clash.status, 409);
    assert.equal(((await clash.json()) as any).message, 'Apply failed with 1 conflict: conflict with "ctrl" with subresource "status" using apps/v1: .status.observedGeneration');
    assert.equal((await statusApply('reporter', { observedGeneration: 1, replicas: 0 })).status, 200);
    const s = await getJson('deployment/status');
    assert.equal(s.spec.replicas, 1, 'a status write leaves spec alone');
    const reporter = s.metadata.managedFields.find((m: any) => m.manager === 'reporter');
    assert.equal(reporter.operation, 'Apply');
    assert.equal(reporter.subresource, 'status');
    assert.deepEqual(reporter.fieldsV1, { 'f:status': { 'f:observedGeneration': {}, 'f:replicas': {} } });
  });

  test('examples/server-side-apply, step by step as docs/server-side-apply.md walks it', async () => {
    const ex = (f: string) => path.join(EXAMPLE, f);
    assert.match(await ok(['apply', '--server-side', '-f', ex('web-v1.yaml')]), /deployment.apps\/ssa-web serverside-applied/);
    const conflict = await kubectl(['apply', '--server-side', '--field-manager=scaler', '-f', ex('scaler.yaml')]);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.replicas/);
    await ok(['apply', '--server-side', '--field-manager=scaler', '--force-conflicts', '-f', ex('scaler.yaml')]);
    const diff = await kubectl(['diff', '--server-side', '-f', ex('web-v2.yaml')]);
    assert.equal(diff.code, 1);
    assert.match(diff.stdout, /-\s+tier: front/);
    await ok(['apply', '--server-side', '-f', ex('web-v2.yaml')]);
    const d = await getJson('deployment/ssa-web');
    assert.deepEqual(d.metadata.labels, { app: 'ssa-web' });
    assert.equal(d.spec.template.spec.containers[0].env, undefined);
    assert.equal(d.spec.replicas, 4, 'the scaler still owns replicas');
    assert.deepEqual(managers(d).sort(), ['kubectl/Apply', 'scaler/Apply']);
    assert.equal((await kubectl(['diff', '--server-side', '-f', ex('web-v2.yaml')])).code, 0);
  });

  test('custom resources merge by their schema: list-map keys, sets, atomic lists', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'gadgets.ssa.kubemu.io' },
      spec: {
        group: 'ssa.kubemu.io', scope: 'Namespaced', names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
        versions: [{
          name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: {
            parts: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, size: { type: 'integer' } } } },
            tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
            args: { type: 'array', items: { type: 'string' } },
          } } } } },
        }],
      },
    };
    fs.writeFileSync(path.join(dir, 'gadget-crd.json'), JSON.stringify(crd));
    await ok(['apply', '-f', path.join(dir, 'gadget-crd.json')]);
    await ok(['wait', '--for=condition=Established', 'crd/gadgets.ssa.kubemu.io', '--timeout=20s']);
    const def = await getJson('crd/gadgets.ssa.kubemu.io');
    const apiserverEntry = def.metadata.managedFields.find((m: any) => m.manager === 'kube-apiserver');
    assert.equal(apiserverEntry?.subresource, 'status', 'the CRD controller records its status writes');
    assert.ok(apiserverEntry.fieldsV1['f:status']['f:conditions']);
    const gadget = (file: string, spec: object) => {
      fs.writeFileSync(path.join(dir, file), JSON.stringify({ apiVersion: 'ssa.kubemu.io/v1', kind: 'Gadget', metadata: { name: 'g' }, spec }));
      return path.join(dir, file);
    };
    const a = gadget('gadget-a.json', { parts: [{ name: 'wheel', size: 4 }, { name: 'seat', size: 1 }], tags: ['red'], args: ['x'] });
    await ok(['apply', '--server-side', '--field-manager=alice', '-f', a]);
    const b = gadget('gadget-b.json', { parts: [{ name: 'bell', size: 1 }], tags: ['loud'] });
    await ok(['apply', '--server-side', '--field-manager=bob', '-f', b]);
    let g = await getJson('gadget/g');
    assert.deepEqual(g.spec.parts.map((p: any) => p.name), ['wheel', 'seat', 'bell']);
    assert.deepEqual(g.spec.tags, ['red', 'loud']);
    assert.deepEqual(Object.keys(owned(g, 'bob')['f:spec']['f:parts']), ['k:{"name":"bell"}']);
    const clash = await kubectl(['apply', '--server-side', '--field-manager=bob', '-f', gadget('gadget-b2.json', { args: ['y'] })]);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /conflict with "alice": \.spec\.args/);
    gadget('gadget-a.json', { parts: [{ name: 'wheel', size: 4 }] });
    await ok(['apply', '--server-side', '--field-manager=alice', '-f', a]);
    g = await getJson('gadget/g');
    assert.deepEqual(g.spec.parts.map((p: any) => p.name), ['wheel', 'bell']);
    assert.deepEqual(g.spec.tags, ['loud']);
    assert.equal(g.spec.args, undefined);
  });

  test('an apply to the scale subresource owns the object\'s replicas, and conflicts both ways', async () => {
    const f = deployment('scale-apply.json', 'scale-apply', { replicas: 2 });
    await ok(['apply', '--server-side', '-f', f]);
    const scale = (replicas: unknown, force = false) => fetch(`${api.url}/apis/apps/v1/namespaces/default/deployments/scale-apply/scale?fieldManager=hpa${force ? '&force=true' : ''}`, {
      method: 'PATCH', headers: { 'Content-Type': 'application/apply-patch+yaml' },
      body: JSON.stringify({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'scale-apply' }, spec: { replicas } }),
    });
    const clash = await scale(5);
    assert.equal(clash.status, 409);
    assert.equal(((await clash.json()) as any).message, 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    assert.equal((await scale(-1)).status, 422);
    const forced = await scale(5, true);
    assert.equal(forced.status, 200);
    const body: any = await forced.json();
    assert.equal(body.kind, 'Scale');
    assert.equal(body.spec.replicas, 5);
    const d = await getJson('deployment/scale-apply');
    assert.equal(d.spec.replicas, 5);
    assert.deepEqual(d.metadata.managedFields.find((m: any) => m.manager === 'hpa'), {
      manager: 'hpa', operation: 'Apply', apiVersion: 'apps/v1', time: d.metadata.managedFields.find((m: any) => m.manager === 'hpa').time,
      fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } }, subresource: 'scale',
    });
    deployment('scale-apply.json', 'scale-apply', { replicas: 3 });
    const back = await kubectl(['apply', '--server-side', '-f', f]);
    assert.equal(back.code, 1);
    assert.match(back.stderr, /conflict with "hpa" with subresource "scale": \.spec\.replicas/);
  });
});
