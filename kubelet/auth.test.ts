// The kubelet API over HTTPS with authentication, as the real kubelet's: a real kubelet server (fake runtime) with a
// serving certificate from lib/pki.ts, and a real apiserver (over etcd) answering its TokenReviews.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCA, issueCertificate, issueExpiredCertificate, type KeyPair } from '../lib/pki.ts';
import { silentLogger } from '../lib/logger.ts';
import { closeServer, trackSockets } from '../lib/close-server.ts';
import { createApiClient, type ApiClient } from '../client/index.ts';
import { testApiServer, type TestApiServer } from '../test/harness/apiserver.ts';
import { runtimeWithWebPod } from '../test/harness/fake-pod.ts';
import { createKubeletServer } from './server.ts';
import { kubeletAuthenticator, tokenReviewer, type KubeletAuthorizer, type KubeletRequestAttributes, type TokenReviewer } from './auth.ts';

const ADMIN = 'kubelet-auth-admin-token';

interface Creds { cert?: KeyPair; token?: string; headers?: Record<string, string> }

describe('kubelet API over HTTPS: x509 and TokenReview authentication', () => {
  let ca: KeyPair;
  let serving: KeyPair;
  let url: string;
  let api: TestApiServer;
  let client: ApiClient;
  let reviews = 0;
  let authorize: KubeletAuthorizer | undefined;
  const cleanups: Array<() => unknown> = [];

  /** A kubelet API server over the fake runtime, one pod web (container c) on it; its https:// URL. */
  async function startKubelet(authn: Parameters<typeof kubeletAuthenticator>[0]): Promise<string> {
    const { runtime, pod } = await runtimeWithWebPod();
    const server = trackSockets(createKubeletServer({
      runtime, pods: () => [pod], logger: silentLogger(),
      tls: { ...serving, clientCA: ca.cert },
      auth: { nodeName: 'node-a', authenticator: kubeletAuthenticator(authn), authorize: (a) => (authorize ?? (async () => ({ allowed: true })))(a) },
    }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => closeServer(server));
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** One request to the kubelet, verifying its serving certificate against the CA. */
  const request = (path: string, c: Creds = {}, method = 'GET', base = url) => new Promise<{ status: number; body: string; type?: string }>((resolve, reject) => {
    const req = https.request(`${base}${path}`, {
      method, ca: ca.cert, ...(c.cert ? { cert: c.cert.cert, key: c.cert.key } : {}),
      headers: { ...(c.token ? { authorization: `Bearer ${c.token}` } : {}), ...c.headers }, agent: false,
    }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });

  before(async () => {
    ca = await createCA();
    serving = await issueCertificate(ca, { commonName: 'node-a', dnsNames: ['node-a'], ipAddresses: ['127.0.0.1'], usage: 'server' });
    api = await testApiServer({ after: (fn) => cleanups.push(fn) }, { tokens: new Map([[ADMIN, { username: 'admin', groups: ['system:masters'] }]]) });
    client = createApiClient({ transport: 'grpc', server: api.grpcAddress, token: ADMIN });
    cleanups.push(() => client.close());
    const real = tokenReviewer(client);
    const counted: TokenReviewer = (t) => { reviews++; return real(t); };

    url = await startKubelet({ x509: true, reviewToken: counted, anonymous: false });
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); });

  test('no credentials: 401 "Unauthorized" (text/plain, as the kubelet writes it) on every path but /healthz', async () => {
    for (const p of ['/pods', '/containerLogs/default/web/c', '/exec/default/web/c', '/portForward/default/web', '/metrics', '/nothing']) {
      const r = await request(p);
      assert.equal(r.status, 401, p);
      assert.equal(r.body, 'Unauthorized');
      assert.match(r.type ?? '', /^text\/plain/);
    }
    assert.equal((await request('/healthz')).status, 200);
  });

  test('an upgrade (exec, port-forward) without credentials is refused before anything runs: 401', async () => {
    const r = await request('/exec/default/web/c?command=id&output=1', { headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v4.channel.k8s.io' } }, 'POST');
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Unauthorized');
  });

  test('a client certificate of the client CA is its CN and O; pods and logs are served', async () => {
    const alice = await issueCertificate(ca, { commonName: 'alice', organizations: ['devs'], usage: 'client' });
    let seen: KubeletRequestAttributes | undefined;
    authorize = async (a) => { seen = a; return { allowed: true }; };
    try {
      const pods = await request('/pods', { cert: alice });
      assert.equal(pods.status, 200, pods.body);
      assert.equal(JSON.parse(pods.body).items[0].metadata.name, 'web');
      assert.deepEqual({ user: seen!.user, verb: seen!.verb, resource: seen!.resource, subresource: seen!.subresource, name: seen!.name },
        { user: { username: 'alice', groups: ['devs', 'system:authenticated'] }, verb: 'get', resource: 'nodes', subresource: 'proxy', name: 'node-a' });
      const logs = await request('/containerLogs/default/web/c', { cert: alice });
      assert.equal(logs.status, 200);
      assert.equal(logs.body, 'c started\n');
    } finally { authorize = undefined; }
  });

  test('refused with 401: a certificate of another CA, an expired one, a server-only one', async () => {
    const other = await createCA('other-ca');
    const foreign = await issueCertificate(other, { commonName: 'system:masters-wannabe', organizations: ['system:masters'], usage: 'client' });
    const expired = await issueExpiredCertificate(ca, { commonName: 'alice', usage: 'client' });
    const serverOnly = await issueCertificate(ca, { commonName: 'alice', usage: 'server' });
    for (const [what, cert] of [['another CA', foreign], ['expired', expired], ['server usage only', serverOnly]] as const) {
      const r = await request('/pods', { cert });
      assert.equal(r.status, 401, what);
      assert.equal(r.body, 'Unauthorized');
    }
  });

  test('a ServiceAccount token is checked by a TokenReview against the apiserver (and the answer cached); a bad token is 401', async () => {
    await client.create({ group: '', resource: 'serviceaccounts' }, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } });
    const tr = await fetch(`${api.url}/api/v1/namespaces/default/serviceaccounts/reader/token`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }),
    });
    assert.equal(tr.status, 201);
    const token = ((await tr.json()) as { status: { token: string } }).status.token;
    let seen: KubeletRequestAttributes | undefined;
    authorize = async (a) => { seen = a; return { allowed: true }; };
    try {
      const before = reviews;
      assert.equal((await request('/pods', { token })).status, 200);
      assert.equal(seen!.user.username, 'system:serviceaccount:default:reader');
      assert.ok(seen!.user.groups.includes('system:serviceaccounts:default'));
      assert.equal((await request('/pods', { token })).status, 200);
      assert.equal(reviews - before, 1, 'the second request is answered from the cache');
    } finally { authorize = undefined; }
    for (const bad of ['not-a-token', `${token.slice(0, -4)}AAAA`]) {
      const r = await request('/pods', { token: bad });
      assert.equal(r.status, 401);
      assert.equal(r.body, 'Unauthorized');
    }
    // The WebSocket form of a bearer token (a subprotocol) is read too.
    const ws = `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}`;
    assert.equal((await request('/pods', { headers: { 'sec-websocket-protocol': ws } })).status, 200);
  });

  test('a bad certificate is not rescued by anonymous access; the authorization hook\'s "no" is 403 with the kubelet\'s message', async () => {
    const other = await createCA('other-ca');
    const foreign = await issueCertificate(other, { commonName: 'mallory', usage: 'client' });
    const open = await startKubelet({ x509: true, anonymous: true });
    let seen: KubeletRequestAttributes | undefined;
    authorize = async (a) => { seen = a; return { allowed: true }; };
    try {
      assert.equal((await request('/pods', {}, 'GET', open)).status, 200);
      assert.deepEqual(seen!.user, { username: 'system:anonymous', groups: ['system:unauthenticated'] });
      const refused = await request('/pods', { cert: foreign }, 'GET', open);
      assert.equal(refused.status, 401, 'a certificate that fails is 401 even with --anonymous-auth');
    } finally { authorize = undefined; }

    const bob = await issueCertificate(ca, { commonName: 'bob', usage: 'client' });
    authorize = async () => ({ allowed: false });
    try {
      const r = await request('/containerLogs/default/web/c', { cert: bob });
      assert.equal(r.status, 403);
      assert.equal(r.body, 'Forbidden (user=bob, verb=get, resource=nodes, subresource=proxy)');
    } finally { authorize = undefined; }
  });

  test('no authentication method at all is refused at start, as the real kubelet refuses it', () => {
    assert.throws(() => kubeletAuthenticator({ x509: false, anonymous: false }), /no authentication method configured/);
  });
});
