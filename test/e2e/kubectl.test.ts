// The real kubectl (1.32 through the machine's dispatcher, plus 1.27 and 1.33) against a real
// apiserver over a real etcd: every command of the API-machinery issue, checking its output.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { createApiClient } from '../../client/index.ts';
import { ControllerManager } from '../../controller-manager/manager.ts';
import { silentLogger } from '../../lib/logger.ts';

const KUBECTL_DIR = path.dirname(fs.realpathSync(process.env.KUBECTL ?? whichKubectl()));

function whichKubectl(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, 'kubectl');
    if (fs.existsSync(p)) return p;
  }
  throw new Error('kubectl is not installed: it is the acceptance client of these tests');
}

interface Run { code: number; stdout: string; stderr: string }

describe('kubectl against kubemu', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    // --cascade=foreground/orphan leave a finalizer that the garbage collector removes, as on any cluster.
    const gcClient = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    const gcStop = new AbortController();
    void new ControllerManager({ client: gcClient, logger: silentLogger(), controllers: ['garbagecollector'] }).run(gcStop.signal);
    cleanups.push(async () => { gcStop.abort(); await gcClient.close(); });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-kubectl-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: kubemu',
      'clusters: [{name: kubemu, cluster: {server: "' + api.url + '"}}]',
      'users: [{name: admin, user: {token: test}}]',
      'contexts: [{name: kubemu, context: {cluster: kubemu, user: admin}}]', '',
    ].join('\n'));
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Run kubectl (default: the dispatcher, which picks 1.32 for a v1.32 server) with its own HOME. */
  function kubectl(args: string[], opts: { bin?: string; input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
    const bin = opts.bin ?? 'kubectl';
    const home = path.join(dir, `home-${bin}`);
    fs.mkdirSync(home, { recursive: true });
    return new Promise((resolve) => {
      const child = execFile(bin === 'kubectl' ? 'kubectl' : path.join(KUBECTL_DIR, bin), ['--kubeconfig', kubeconfig, ...args], {
        env: { ...process.env, HOME: home, ...(opts.env ?? {}) }, timeout: opts.timeoutMs ?? 30_000, cwd: dir,
      }, (err, stdout, stderr) => resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout, stderr }));
      if (opts.input !== undefined) child.stdin!.end(opts.input);
    });
  }
  async function ok(args: string[], opts?: Parameters<typeof kubectl>[1]): Promise<string> {
    const r = await kubectl(args, opts);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }
  const file = (name: string, text: string) => { fs.writeFileSync(path.join(dir, name), text); return path.join(dir, name); };

  const deployYaml = (replicas: number, image = 'kubemu/hello:1') => `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: front}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;

  test('version, api-resources, cluster-info', async () => {
    assert.match(await ok(['version']), /Server Version: v1\.32\.0/);
    const res = await ok(['api-resources']);
    for (const line of [/^pods\s+po\s+v1\s+true\s+Pod$/m, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m,
      /^cronjobs\s+cj\s+batch\/v1\s+true\s+CronJob$/m, /^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m]) {
      assert.match(res, line);
    }
    assert.match(await ok(['cluster-info']), new RegExp(`Kubernetes control plane is running at ${api.url}`));
  });

  test('apply: multi-document create, unchanged re-apply, re-apply with a change', async () => {
    const f = file('shop.yaml', deployYaml(2));
    assert.equal(await ok(['apply', '-f', f]), 'namespace/shop created\ndeployment.apps/web created\nservice/web created\n');
    assert.equal(await ok(['apply', '-f', f]), 'namespace/shop unchanged\ndeployment.apps/web unchanged\nservice/web unchanged\n');
    file('shop.yaml', deployYaml(3, 'kubemu/hello:2'));
    assert.equal(await ok(['apply', '-f', f]), 'namespace/shop unchanged\ndeployment.apps/web configured\nservice/web unchanged\n');
    const dep = JSON.parse(await ok(['-n', 'shop', 'get', 'deploy', 'web', '-o', 'json']));
    assert.equal(dep.spec.replicas, 3);
    assert.equal(dep.spec.template.spec.containers[0].image, 'kubemu/hello:2');
    assert.equal(dep.metadata.generation, 2);
  });

  test('get: tables, -A, -o wide|yaml|json, set-based -l, --field-selector, every resource', async () => {
    const wide = await ok(['-n', 'shop', 'get', 'deploy,svc', '-o', 'wide']);
    assert.match(wide, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/m);
    assert.match(wide, /^deployment\.apps\/web\s+0\/3\s+0\s+0\s+\S+\s+web\s+kubemu\/hello:2\s+app=web$/m);
    assert.match(wide, /^service\/web\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP\s+\S+\s+app=web$/m);
    const all = await ok(['get', 'svc', '-A']);
    assert.match(all, /^default\s+kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP/m);
    assert.match(all, /^shop\s+web\s+ClusterIP/m);
    assert.match(await ok(['-n', 'shop', 'get', 'svc', 'web', '-o', 'yaml']), /^kind: Service$/m);
    assert.equal(JSON.parse(await ok(['-n', 'shop', 'get', 'deploy', '-o', 'json'])).items.length, 1);
    assert.match(await ok(['-n', 'shop', 'get', 'deploy', '-l', 'tier in (front,back),app']), /^web\s/m);
    const none = await kubectl(['-n', 'shop', 'get', 'deploy', '-l', 'tier notin (front)']);
    assert.match(none.stderr, /No resources found in shop namespace/);
    assert.match(await ok(['get', 'ns', '--field-selector', 'metadata.name=shop']), /^shop\s+Active/m);
    for (const r of ['pods', 'nodes', 'services', 'endpoints', 'configmaps', 'secrets', 'events', 'replicationcontrollers', 'serviceaccounts',
      'deployments', 'replicasets', 'daemonsets', 'statefulsets', 'jobs', 'cronjobs', 'leases', 'namespaces']) {
      const out = await kubectl(['get', r, '-A']);
      assert.equal(out.code, 0, `get ${r}: ${out.stderr}`);
    }
    const bad = await kubectl(['get', 'pods', '--field-selector', 'spec.image=x']);
    assert.match(bad.stderr, /field label not supported: spec.image/);
  });

  test('get -w streams changes', async () => {
    // The watch runs until the change shows (or 30 s pass), not for a fixed time: kubectl can be
    // slow to start on a loaded machine.
    const home = path.join(dir, 'home-kubectl');
    fs.mkdirSync(home, { recursive: true });
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '-n', 'shop', 'get', 'cm', '-w'], {
      env: { ...process.env, HOME: home }, timeout: 60_000, cwd: dir,
    });
    let stdout = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    const exited = new Promise((r) => child.on('close', r));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      await ok(['-n', 'shop', 'create', 'configmap', 'watched', '--from-literal=a=b']);
      for (const end = Date.now() + 30_000; !/^watched\s+1\s+/m.test(stdout) && child.exitCode === null && Date.now() < end;) {
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      child.kill();
      await exited;
    }
    assert.match(stdout, /^watched\s+1\s+/m);
  });

  test('create -f, AlreadyExists, validation errors, NotFound', async () => {
    const pod = file('pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: solo\n  namespace: shop\n  labels: {app: solo}\nspec:\n  containers:\n  - name: c\n    image: kubemu/hello:1\n');
    assert.equal(await ok(['create', '-f', pod]), 'pod/solo created\n');
    const again = await kubectl(['create', '-f', pod]);
    assert.match(again.stderr, /Error from server \(AlreadyExists\): error when creating ".*pod.yaml": pods "solo" already exists/);
    const bad = file('bad.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: shop}\nspec:\n  containers: [{name: c}]\n');
    assert.match((await kubectl(['create', '-f', bad])).stderr, /The Pod "bad" is invalid: spec.containers\[0\].image: Required value/);
    assert.match((await kubectl(['get', 'pod', 'nope'])).stderr, /Error from server \(NotFound\): pods "nope" not found/);
    assert.match((await kubectl(['get', 'foos'])).stderr, /the server doesn't have a resource type "foos"/);
  });

  test('describe, label, annotate, patch (strategic, merge, json), scale, edit', async () => {
    const d = await ok(['-n', 'shop', 'describe', 'pod', 'solo']);
    assert.match(d, /^Name:\s+solo$/m);
    assert.match(d, /^Status:\s+Pending$/m);
    assert.match(d, /^QoS Class:\s+BestEffort$/m);
    assert.match(await ok(['-n', 'shop', 'describe', 'deploy', 'web']), /^Replicas:\s+3 desired/m);
    assert.equal(await ok(['-n', 'shop', 'label', 'pod', 'solo', 'tier=x']), 'pod/solo labeled\n');
    assert.equal(await ok(['-n', 'shop', 'annotate', 'pod', 'solo', 'note=hi']), 'pod/solo annotated\n');
    const p = JSON.parse(await ok(['-n', 'shop', 'get', 'pod', 'solo', '-o', 'json']));
    assert.equal(p.metadata.labels.tier, 'x');
    assert.equal(p.metadata.annotations.note, 'hi');
    await ok(['-n', 'shop', 'patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"kubemu/hello:3"}]}}}}']);
    await ok(['-n', 'shop', 'patch', 'deploy', 'web', '--type', 'merge', '-p', '{"metadata":{"labels":{"patched":"merge"}}}']);
    await ok(['-n', 'shop', 'patch', 'deploy', 'web', '--type', 'json', '-p', '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]']);
    assert.equal(await ok(['-n', 'shop', 'scale', 'deploy', 'web', '--replicas=5']), 'deployment.apps/web scaled\n');
    const dep = JSON.parse(await ok(['-n', 'shop', 'get', 'deploy', 'web', '-o', 'json']));
    assert.equal(dep.spec.template.spec.containers[0].image, 'kubemu/hello:3');
    assert.equal(dep.spec.template.spec.containers.length, 1);
    assert.equal(dep.metadata.labels.patched, 'merge');
    assert.equal(dep.metadata.labels.json, 'yes');
    assert.equal(dep.spec.replicas, 5);
    await ok(['-n', 'shop', 'create', 'configmap', 'ed', '--from-literal=color=blue']);
    assert.equal(await ok(['-n', 'shop', 'edit', 'cm', 'ed'], { env: { KUBE_EDITOR: 'sed -i s/color:\\ blue/color:\\ green/' } }), 'configmap/ed edited\n');
    assert.equal(await ok(['-n', 'shop', 'get', 'cm', 'ed', '-o', 'jsonpath={.data.color}']), 'green');
  });

  test('wait --for=condition and get events', async () => {
    const waiting = kubectl(['-n', 'shop', 'wait', '--for=condition=Ready', 'pod/solo', '--timeout=60s'], { timeoutMs: 90_000 });
    await new Promise((r) => setTimeout(r, 1000));
    const res = await fetch(`${api.url}/api/v1/namespaces/shop/pods/solo/status`, {
      method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True' }] } }),
    });
    assert.equal(res.status, 200);
    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'pod/solo condition met\n');
    const ev = await fetch(`${api.url}/api/v1/namespaces/shop/events`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'solo.1' }, involvedObject: { kind: 'Pod', name: 'solo', namespace: 'shop', uid: 'u' }, reason: 'Tested', message: 'hello from the test', type: 'Normal', count: 1, lastTimestamp: new Date().toISOString() }),
    });
    assert.equal(ev.status, 201);
    assert.match(await ok(['-n', 'shop', 'get', 'events']), /Normal\s+Tested\s+pod\/solo\s+hello from the test/);
  });

  test('imperative create (protobuf bodies from 1.32), run, expose', async () => {
    await ok(['create', 'namespace', 'imp']);
    const cmds = [
      ['create', 'configmap', 'c1', '--from-literal=a=b'], ['create', 'secret', 'generic', 's1', '--from-literal=p=q'],
      ['create', 'deployment', 'd1', '--image=kubemu/hello:1', '--replicas=2'], ['create', 'job', 'j1', '--image=kubemu/busybox:1', '--', 'echo', 'hi'],
      ['create', 'service', 'clusterip', 'svc1', '--tcp=80:8080'], ['create', 'serviceaccount', 'sa1'],
      ['run', 'p1', '--image=kubemu/hello:1', '--labels=app=p1'], ['expose', 'deployment', 'd1', '--port=80', '--target-port=8080'],
    ];
    for (const c of cmds) await ok(['-n', 'imp', ...c]);
    const out = await ok(['-n', 'imp', 'get', 'cm,secret,deploy,job,svc,sa,pod', '-o', 'name']);
    for (const name of ['configmap/c1', 'secret/s1', 'deployment.apps/d1', 'job.batch/j1', 'service/svc1', 'service/d1', 'serviceaccount/sa1', 'pod/p1']) {
      assert.match(out, new RegExp(`^${name.replace('.', '\\.')}$`, 'm'));
    }
    const svc = JSON.parse(await ok(['-n', 'imp', 'get', 'svc', 'd1', '-o', 'json']));
    assert.deepEqual(svc.spec.selector, { app: 'd1' });
    const job = JSON.parse(await ok(['-n', 'imp', 'get', 'job', 'j1', '-o', 'json']));
    assert.deepEqual(job.spec.template.spec.containers[0].command, ['echo', 'hi']);
  });

  test('delete: by name, -f, -l, --all, propagation policies', async () => {
    assert.equal(await ok(['-n', 'imp', 'delete', 'pod', 'p1']), 'pod "p1" deleted\n');
    assert.equal(await ok(['-n', 'imp', 'delete', 'svc', '-l', 'app in (d1)']), 'service "d1" deleted\n');
    assert.equal(await ok(['-n', 'imp', 'delete', 'deploy', 'd1', '--cascade=orphan']), 'deployment.apps "d1" deleted\n');
    assert.equal(await ok(['-n', 'imp', 'delete', 'job', 'j1', '--cascade=foreground']), 'job.batch "j1" deleted\n');
    assert.match(await ok(['-n', 'imp', 'delete', 'cm', '--all']), /configmap "c1" deleted/);
    assert.match(await ok(['delete', '-f', path.join(dir, 'shop.yaml')]), /namespace "shop" deleted\ndeployment.apps "web" deleted\nservice "web" deleted/);
    const gone = await kubectl(['-n', 'shop', 'get', 'deploy', 'web']);
    assert.match(gone.stderr, /NotFound/);
  });

  for (const version of ['1.27', '1.33']) {
    test(`kubectl ${version}: discovery, apply, get, scale, delete`, async () => {
      const bin = `kubectl.${version}`;
      assert.ok(fs.existsSync(path.join(KUBECTL_DIR, bin)), `${bin} is installed beside kubectl`);
      const ns = `v${version.replace('.', '')}`;
      const f = file(`${ns}.yaml`, deployYaml(1).replaceAll('shop', ns));
      assert.match(await ok(['apply', '-f', f], { bin }), new RegExp(`namespace/${ns} created\\ndeployment.apps/web created\\nservice/web created`));
      assert.match(await ok(['get', 'deploy', '-n', ns], { bin }), /^web\s+0\/1\s+0\s+0\s+/m);
      assert.match(await ok(['get', 'po,deploy,svc', '-A'], { bin }), new RegExp(`^${ns}\\s+service/web\\s+ClusterIP`, 'm'));
      assert.match(await ok(['scale', 'deploy', 'web', '-n', ns, '--replicas=2'], { bin }), /scaled/);
      assert.match(await ok(['create', 'configmap', 'cm', '-n', ns, '--from-literal=a=b'], { bin }), /configmap\/cm created/);
      assert.match(await ok(['delete', '-f', f], { bin }), /deleted/);
    });
  }
});
