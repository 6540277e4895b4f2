// The official Python client (Debian's python3-kubernetes, for /usr/bin/python3; scripts/ensure-deps.sh
// installs it) against a real apiserver over a real etcd: test/e2e/python/client_checks.py prints one
// line per check and this test asserts each line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { kubeconfigYaml } from '../../client/kubeconfig.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(import.meta.dirname, 'python', 'client_checks.py');

describe('the official Python client', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let dir: string;
  const lines = new Map<string, string>();
  let stderr = '';

  before(async () => {
    // Compaction every 300 ms, so the 410 check's old resourceVersion is gone from etcd within a second.
    api = await testApiServer({ after: (fn) => cleanups.push(fn) }, { compactionIntervalMs: 300 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-py-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: api.url, token: 'test' }));
    // Asynchronously: the apiserver runs in this process and must keep answering.
    const out = await new Promise<string>((resolve, reject) => {
      execFile(PYTHON, [SCRIPT, kubeconfig, 'default'], { timeout: 120_000 }, (err, stdout, errout) => {
        stderr = errout;
        if (err && !stdout) reject(new Error(`${PYTHON} ${SCRIPT} failed (is python3-kubernetes installed? scripts/ensure-deps.sh installs it): ${err.message}\n${errout}`));
        else resolve(stdout);
      });
    });
    for (const line of out.split('\n')) {
      const m = /^(ok|FAIL) ([^:]+): (.*)$/.exec(line);
      if (m) lines.set(m[2], `${m[1]} ${m[3]}`);
    }
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const expect = (check: string, want: string | RegExp) => {
    const got = lines.get(check);
    assert.ok(got !== undefined, `no line for ${check}; stderr:\n${stderr}`);
    if (typeof want === 'string') assert.equal(got, `ok ${want}`, `${check}; stderr:\n${stderr}`);
    else assert.match(got, want, `${check}; stderr:\n${stderr}`);
  };

  test('CoreV1: ConfigMap create, list, read, patch, delete', () => {
    expect('configmap crud', "listed=True read={'a': '1'} patched=[('a', '1'), ('b', '2')] after-delete=404");
  });
  test('CoreV1: Pod create, list by label, read, patch, delete', () => {
    expect('pod crud', "listed=['py-pod'] image=busybox labels=[('app', 'py'), ('tier', 'x')]");
  });
  test('AppsV1: Deployment create and scale through the scale subresource', () => {
    expect('deployment scale', 'scale.spec.replicas=3 deployment.spec.replicas=3');
  });
  test('BatchV1: Job create gets the generated selector and labels', () => {
    expect('job create', "name=py-job backoffLimit=6 selector=True template-labels=['batch.kubernetes.io/controller-uid', 'batch.kubernetes.io/job-name', 'controller-uid', 'job-name']");
  });
  test('create, read and list of the workload kinds deserialize: their statuses carry Go\'s zero values', () => {
    expect('zero-value statuses', 'rc=0,0 rs=0 sts=0 ds=0,0,0,0 listed=2');
  });
  test('the dynamic client (discovery, create, get, list, delete)', () => {
    expect('dynamic client', "data={'k': 'v'} deployments=['py-dep']");
  });
  test('watch.Watch().stream sees ADDED, MODIFIED, DELETED (the client sends watch=True)', () => {
    expect('watch stream', 'ADDED MODIFIED DELETED');
  });
  test('a watch resumed from a list\'s resourceVersion sees only later changes', () => {
    expect('watch resumed', 'ADDED:py-resumed DELETED:py-resumed');
  });
  test('a watch from a compacted resourceVersion ends in 410 Expired', () => {
    expect('watch 410', '410 Expired');
  });
  test('kubernetes.utils.create_from_yaml with two documents', () => {
    expect('create_from_yaml', "kinds=['ConfigMap', 'Deployment'] replicas=2");
  });
  test('server-side apply through the dynamic client (create, update, forced by another manager)', () => {
    expect('server-side apply', "first={'a': '1'} second=[('a', '2'), ('b', '3')] forced={'a': '9', 'b': '3'}");
  });
});
