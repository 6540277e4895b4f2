// The kubelet's API over HTTPS with client certificates, and the apiserver reaching it with its own (--kubelet-client-*
// options): a real Docker pod, the real kubectl's logs and exec through the apiserver, and the kubelet's API itself
// refusing a request with no credentials (401) or with a certificate of another CA.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { dockerKubelet, until, type DockerKubelet } from '../harness/docker-kubelet.ts';
import { createCA, issueCertificate, type KeyPair } from '../../lib/pki.ts';

const PODS = { group: '', resource: 'pods' };

describe('kubelet TLS on the Docker runtime: kubectl logs and exec through the apiserver; the kubelet API refuses strangers', () => {
  let k: DockerKubelet;
  const cleanups: Array<() => unknown> = [];
  const direct = (path: string, cert?: KeyPair) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request(`${k.kubeletUrl}${path}`, { ca: k.ca!.cert, ...(cert ? { cert: cert.cert, key: cert.key } : {}), agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });

  before(async () => {
    k = await dockerKubelet({ after: (fn) => cleanups.push(fn) }, { name: 'ktls', kubeletTLS: true });
    await k.client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'talker' },
      spec: { nodeName: k.node, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'kubemu/busybox:1', command: ['sh', '-c', 'echo hello-over-tls; sleep 3600'] }] } });
    await until('talker running', async () => (await k.client.get(PODS, 'default', 'talker')).status?.phase === 'Running', 60_000);
  });
  after(async () => { for (const fn of cleanups) await fn(); });

  test('kubectl logs and kubectl exec go through the apiserver to the kubelet over TLS', async () => {
    const logs = await until('logs', async () => { const out = await k.kubectl(['logs', 'talker']); return out.includes('hello-over-tls') && out; });
    assert.match(logs, /hello-over-tls/);
    assert.equal((await k.kubectl(['exec', 'talker', '--', 'echo', 'exec-over-tls'])).trim(), 'exec-over-tls');
  });

  test('the kubelet API itself: 401 without credentials and with a certificate of another CA; /healthz open', async () => {
    const none = await direct('/pods');
    assert.deepEqual(none, { status: 401, body: 'Unauthorized' });
    const other = await createCA('not-the-cluster');
    assert.equal((await direct('/containerLogs/default/talker/c', await issueCertificate(other, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' }))).status, 401);
    assert.equal((await direct('/healthz')).status, 200);
    const mine = await issueCertificate(k.ca!, { commonName: 'someone', usage: 'client' });
    assert.match((await direct('/containerLogs/default/talker/c', mine)).body, /hello-over-tls/);
  });
});
