// The apiserver's proxy to kubelets over TLS (--kubelet-client-certificate, --kubelet-certificate-authority): a real
// apiserver, real kubelet API servers (fake runtime) with certificates from lib/pki.ts, Nodes pointing at them.
// `kubectl logs` and `kubectl exec` take these paths; a kubelet whose certificate names another node, one of another
// CA, or a Node pointing at etcd get a clear error instead of being relayed to.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { createCA, issueCertificate, type KeyPair } from '../../lib/pki.ts';
import { silentLogger } from '../../lib/logger.ts';
import { closeServer, trackSockets } from '../../lib/close-server.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { testApiServer, type TestApiServer } from '../../test/harness/apiserver.ts';
import { FakeRuntime } from '../../kubelet/cri/fake/runtime.ts';
import { LABELS } from '../../kubelet/cri/types.ts';
import { createKubeletServer } from '../../kubelet/server.ts';
import { kubeletAuthenticator } from '../../kubelet/auth.ts';

const NODES = { group: '', resource: 'nodes' };
const PODS = { group: '', resource: 'pods' };

describe('apiserver → kubelet over TLS: logs and exec reach a kubelet whose certificate names its node, and no other', () => {
  let ca: KeyPair;
  let api: TestApiServer;
  let client: ApiClient;
  const cleanups: Array<() => unknown> = [];

  /** A kubelet API (HTTPS, client certificates of `ca` required) serving `serving`, with pod <name>-pod (container c). */
  async function kubelet(name: string, serving: KeyPair): Promise<number> {
    const runtime = new FakeRuntime();
    const uid = `${name}-uid`;
    const sandbox = await runtime.runPodSandbox({ metadata: { name: `${name}-pod`, namespace: 'default', uid, attempt: 0 } } as any);
    await runtime.pullImage('busybox');
    const id = await runtime.createContainer(sandbox, { metadata: { name: 'c', attempt: 0 } as any, image: 'busybox',
      labels: { [LABELS.podUid]: uid, [LABELS.containerName]: 'c', [LABELS.restartCount]: '0' } }, {} as any);
    await runtime.startContainer(id);
    const server = trackSockets(createKubeletServer({
      runtime, pods: () => [{ metadata: { name: `${name}-pod`, namespace: 'default', uid } }], logger: silentLogger(),
      tls: { ...serving, clientCA: ca.cert }, auth: { nodeName: name, authenticator: kubeletAuthenticator({ x509: true, anonymous: false }) },
    }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => closeServer(server));
    return (server.address() as AddressInfo).port;
  }

  /** A Node at 127.0.0.1:<port> and a pod bound to it, as a kubelet would have registered them. */
  async function node(name: string, port: number): Promise<void> {
    await client.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name } });
    const n = await client.get(NODES, undefined, name);
    await client.updateStatus(NODES, undefined, { ...n, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } });
    await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-pod` }, spec: { nodeName: name, containers: [{ name: 'c', image: 'busybox' }] } });
  }

  const logs = (name: string) => fetch(`${api.url}/api/v1/namespaces/default/pods/${name}-pod/log`);

  /** An exec upgrade through the apiserver, as kubectl (≤1.29) sends it: the status line and body of the answer. */
  const exec = (name: string) => new Promise<string>((resolve, reject) => {
    const { hostname, port } = new URL(api.url);
    const s = net.connect({ host: hostname, port: Number(port) }, () => s.write([
      `POST /api/v1/namespaces/default/pods/${name}-pod/exec?command=true&stdout=1 HTTP/1.1`, `Host: ${hostname}:${port}`,
      'Connection: Upgrade', 'Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: v4.channel.k8s.io', '', ''].join('\r\n')));
    let out = '';
    s.on('data', (d) => { out += d; if (out.startsWith('HTTP/1.1 101')) { s.destroy(); resolve(out); } });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });

  before(async () => {
    ca = await createCA();
    const apiClientCert = await issueCertificate(ca, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], usage: 'client' });
    api = await testApiServer({ after: (fn) => cleanups.push(fn) }, { kubeletClient: { ...apiClientCert, ca: ca.cert } });
    client = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    cleanups.push(() => client.close());
    await node('good', await kubelet('good', await issueCertificate(ca, { commonName: 'system:node:good', organizations: ['system:nodes'], dnsNames: ['good'], ipAddresses: ['127.0.0.1'], usage: 'server' })));
    await node('byname', await kubelet('byname', await issueCertificate(ca, { commonName: 'system:node:byname', dnsNames: ['byname'], usage: 'server' })));
    await node('liar', await kubelet('liar', await issueCertificate(ca, { commonName: 'system:node:other', dnsNames: ['other'], ipAddresses: ['127.0.0.2'], usage: 'server' })));
    const foreignCA = await createCA('someone-else');
    await node('foreign', await kubelet('foreign', await issueCertificate(foreignCA, { commonName: 'system:node:foreign', dnsNames: ['foreign'], ipAddresses: ['127.0.0.1'], usage: 'server' })));
    // A Node object pointing at etcd's client port: what the audit saw relayed to.
    await node('etcd', Number(new URL(api.etcd.endpoint).port));
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  test('a kubelet whose certificate names its address (or its node name) serves logs and exec, with the apiserver\'s client certificate', async () => {
    for (const name of ['good', 'byname']) {
      const r = await logs(name);
      assert.equal(r.status, 200, name);
      assert.equal(await r.text(), 'c started\n');
      assert.match(await exec(name), /^HTTP\/1\.1 101/, name);
    }
  });

  test('a kubelet whose certificate names another node: 500 with Go\'s x509 words, for logs and exec', async () => {
    const r = await logs('liar');
    assert.equal(r.status, 500);
    const status = await r.json() as { message: string; reason: string };
    assert.equal(status.reason, 'InternalError');
    assert.match(status.message, /^Get "https:\/\/127\.0\.0\.1:\d+\/containerLogs\/default\/liar-pod\/c\?": tls: failed to verify certificate: x509: certificate is valid for 127\.0\.0\.2, not 127\.0\.0\.1$/);
    const e = await exec('liar');
    assert.match(e, /^HTTP\/1\.1 500/);
    assert.match(e, /error dialing backend: tls: failed to verify certificate: x509: certificate is valid for 127\.0\.0\.2, not 127\.0\.0\.1/);
  });

  test('a kubelet certificate of another CA, and a Node pointing at etcd, are refused, not relayed to', async () => {
    const f = await logs('foreign');
    assert.equal(f.status, 500);
    assert.match(((await f.json()) as { message: string }).message, /tls: failed to verify certificate: x509: certificate signed by unknown authority$/);
    const e = await logs('etcd');
    assert.ok(e.status >= 500, String(e.status));
    const body = await e.json() as { message: string };
    assert.doesNotMatch(body.message, /^c started/);
    assert.match(await exec('etcd'), /^HTTP\/1\.1 50\d/);
  });
});
