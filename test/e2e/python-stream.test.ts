// The official Python client's kubernetes.stream against a kubemu cluster (an apiserver over etcd and a kubelet on
// Docker): exec with the exit code from its error channel, exec with stdin=True, and port-forward over the
// WebSocket channel protocol (v4.channel.k8s.io). test/e2e/python/stream_checks.py prints one line per check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { dockerKubelet, until, type DockerKubelet } from '../harness/docker-kubelet.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(import.meta.dirname, 'python', 'stream_checks.py');
const PODS = { group: '', resource: 'pods' };

describe('the official Python client: exec and port-forward', () => {
  let k: DockerKubelet;
  const lines = new Map<string, string>();
  let stderr = '';
  const cleanups: Array<() => unknown> = [];

  before(async () => {
    k = await dockerKubelet({ after: (fn) => cleanups.push(fn) }, { name: 'py-stream' });
    const pod = (name: string, command: string[]) => k.client.create(PODS, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { nodeName: k.node, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'kubemu/busybox:1', command }] },
    });
    await pod('shell', ['sleep', '3600']);
    await pod('web', ['sh', '-c', 'mkdir -p /www && echo hello-pf > /www/index.html && exec httpd -f -p 8080 -h /www']);
    for (const name of ['shell', 'web']) {
      await until(`${name} running`, async () => {
        const p = await k.client.get(PODS, 'default', name);
        return p.status?.phase === 'Running' && p.status.containerStatuses?.every((c: { ready: boolean }) => c.ready);
      }, 120_000);
    }
    // Asynchronously: the apiserver and the kubelet run in this process and must keep answering.
    const out = await new Promise<string>((resolve, reject) => {
      execFile(PYTHON, [SCRIPT, k.kubeconfig, 'default'], { timeout: 120_000 }, (err, stdout, errout) => {
        stderr = errout;
        if (err && !stdout) reject(new Error(`${PYTHON} ${SCRIPT} failed: ${err.message}\n${errout}`));
        else resolve(stdout);
      });
    });
    for (const line of out.split('\n')) {
      const m = /^(ok|FAIL) ([^:]+): (.*)$/.exec(line);
      if (m) lines.set(m[2], `${m[1]} ${m[3]}`);
    }
  });

  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  const expect = (check: string, want: string) => assert.equal(lines.get(check), `ok ${want}`, `${check}; stderr:\n${stderr}`);

  test('exec: output, and the exit code from the status on the error channel', () => {
    expect('exec', "out='out\\nerr\\n' stdout='partial\\n' returncode=3");
  });
  test('exec with stdin=True: the input reaches the process', () => {
    expect('exec stdin', "stdout='from python\\n' returncode=0");
  });
  test('port-forward over WebSocket channels: an HTTP request reaches the pod, no error', () => {
    expect('port-forward', "status='HTTP/1.1 200 OK' body=b'hello-pf\\n' error=None");
  });
});
