// The Certificates API and bootstrap tokens against a real apiserver and controller manager (csrsigning with a CA
// on disk, csrapproving, csrcleaner, tokencleaner): the real kubectl 1.27/1.32/1.33 lists CSRs with Kubernetes'
// columns and approves and denies them (1.32+ send the /approval body in protobuf); a CSR with a bad signature is
// refused with Kubernetes' message; an approved CSR is signed and its certificate verifies against the CA; the
// signer's rules fail a kubelet request with the wrong subject; a bootstrap token authenticates (TokenReview) until
// it expires or is deleted; and the kubelet's TLS bootstrap gets a node certificate with a bootstrap token alone.
// kubectl sends no token over plain HTTP, so it talks to an apiserver in learning mode; a second apiserver on the
// same etcd has authentication on (a token file and --enable-bootstrap-token-auth).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { kubectlApiServer, testApiServer, type KubectlApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { until } from '../harness/until.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { ControllerManager } from '../../controller-manager/manager.ts';
import { silentLogger } from '../../lib/logger.ts';
import { createCA, createCsr, inspectCertificate, issueCertificate, type KeyPair } from '../../lib/pki.ts';
import { bootstrapClientCertificate, bootstrapServingCertificate, CURRENT_FILE, renew, scheduleClientRotation } from '../../kubelet/tls-bootstrap.ts';
import type { KubeObject } from '../../api/types.ts';

const ADMIN = 'admin-token-for-tests';
const KUBECTL_DIR = path.dirname(fs.realpathSync(path.join((process.env.PATH ?? '').split(':').find((d) => fs.existsSync(path.join(d, 'kubectl')))!, 'kubectl')));
const CSRS = { group: 'certificates.k8s.io', resource: 'certificatesigningrequests' };
const SECRETS = { group: '', resource: 'secrets' };
type Obj = Record<string, any>;

function badSignature(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
  der[der.length - 3]! ^= 1;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
}

const csrObject = (name: string, pem: string, spec: Obj = {}): KubeObject => ({
  apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name },
  spec: { request: Buffer.from(pem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['digital signature', 'client auth'], ...spec },
} as KubeObject);

const tokenSecret = (id: string, secret: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Secret', type: 'bootstrap.kubernetes.io/token', metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
  stringData: { 'token-id': id, 'token-secret': secret, 'usage-bootstrap-authentication': 'true', 'usage-bootstrap-signing': 'true', ...data },
} as unknown as KubeObject);

describe('Certificates API, signers and bootstrap tokens', () => {
  const cleanups: Array<() => unknown> = [];
  let api: KubectlApiServer;
  let secured: TestApiServer;
  let client: ApiClient;
  let ca: KeyPair;
  const kubectl = (version: string | undefined, ...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(version ? path.join(KUBECTL_DIR, `kubectl.${version}`) : 'kubectl', ['--kubeconfig', api.kubeconfig, ...args], { timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
  const review = async (token: string) => {
    const res = await fetch(`${secured.url}/apis/authentication.k8s.io/v1/tokenreviews`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
    });
    return (await res.json() as Obj).status;
  };

  before(async () => {
    api = await kubectlApiServer({ after: (fn) => cleanups.push(fn) }, 'certs');
    secured = await testApiServer({ after: (fn) => cleanups.push(fn) }, {
      etcd: api.etcd, enableBootstrapTokenAuth: true, tokens: new Map([[ADMIN, { username: 'admin', groups: ['system:masters'] }]]),
    });
    ca = await createCA();
    fs.writeFileSync(path.join(api.dir, 'ca.crt'), ca.cert);
    fs.writeFileSync(path.join(api.dir, 'ca.key'), ca.key, { mode: 0o600 });
    client = createApiClient({ transport: 'grpc', server: secured.grpcAddress, token: ADMIN });
    const stop = new AbortController();
    const cm = new ControllerManager({
      client, logger: silentLogger(), controllers: ['csrsigning', 'csrapproving', 'csrcleaner', 'tokencleaner'],
      timings: { clusterSigningCertFile: path.join(api.dir, 'ca.crt'), clusterSigningKeyFile: path.join(api.dir, 'ca.key'), clusterSigningDurationSeconds: 24 * 3600 },
    }).run(stop.signal);
    cleanups.push(async () => { stop.abort(); await cm; });
  });
  after(async () => { await client?.close(); for (const fn of cleanups.reverse()) await fn(); });

  for (const version of ['1.27', '1.32', '1.33']) {
    test(`kubectl ${version}: get csr columns, certificate approve → signed by the CA; certificate deny`, async () => {
      const v = version.replace('.', '');
      const { csr } = await createCsr({ commonName: `user-${v}`, organizations: ['devs'] });
      const file = path.join(api.dir, `csr-${v}.yaml`);
      fs.writeFileSync(file, JSON.stringify(csrObject(`user-${v}`, csr, { expirationSeconds: 3600 })));
      assert.equal((await kubectl(version, 'create', '-f', file)).code, 0);
      const listed = await kubectl(version, 'get', 'csr', `user-${v}`);
      assert.match(listed.stdout, /^NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION\n/);
      assert.match(listed.stdout, new RegExp(`user-${v}\\s+\\S+\\s+kubernetes.io/kube-apiserver-client\\s+system:admin\\s+60m\\s+Pending`));
      const approved = await kubectl(version, 'certificate', 'approve', `user-${v}`);
      assert.equal(approved.stdout.trim(), `certificatesigningrequest.certificates.k8s.io/user-${v} approved`, approved.stderr);
      const signed = await until(`user-${v} issued`, async () => (await client.get(CSRS, undefined, `user-${v}`) as Obj).status?.certificate, 30_000);
      const cert = inspectCertificate(Buffer.from(signed, 'base64').toString());
      assert.equal(cert.commonName, `user-${v}`);
      assert.deepEqual(cert.organizations, ['devs']);
      assert.ok(await cert.signedBy(ca.cert), 'the certificate verifies against the cluster CA');
      // expirationSeconds (1h) is shorter than --cluster-signing-duration (24h): it wins; the 5-minute backdate stays.
      assert.equal((cert.notAfter.getTime() - cert.notBefore.getTime()) / 1000, 3600 + 300);
      const cond = (await client.get(CSRS, undefined, `user-${v}`) as Obj).status.conditions[0];
      assert.deepEqual([cond.type, cond.status, cond.reason, cond.message], ['Approved', 'True', 'KubectlApprove', 'This CSR was approved by kubectl certificate approve.']);
      assert.match((await kubectl(version, 'get', 'csr', `user-${v}`)).stdout, /Approved,Issued/);

      const other = await createCsr({ commonName: `deny-${v}` });
      fs.writeFileSync(file, JSON.stringify(csrObject(`deny-${v}`, other.csr)));
      assert.equal((await kubectl(version, 'create', '-f', file)).code, 0);
      const denied = await kubectl(version, 'certificate', 'deny', `deny-${v}`);
      assert.equal(denied.stdout.trim(), `certificatesigningrequest.certificates.k8s.io/deny-${v} denied`, denied.stderr);
      assert.match((await kubectl(version, 'get', 'csr', `deny-${v}`)).stdout, /\sDenied\n/);
      // kubectl refuses to approve a denied CSR itself; the API refuses it too (Approved and Denied exclude each other).
      assert.match((await kubectl(version, 'certificate', 'approve', `deny-${v}`)).stderr, new RegExp(`certificate signing request "deny-${v}" is already Denied`));
    });
  }

  test('the API refuses an Approved condition beside a Denied one, and an approval through the main resource', async () => {
    const { csr } = await createCsr({ commonName: 'twice' });
    await client.create(CSRS, undefined, csrObject('twice', csr));
    const denied = { type: 'Denied', status: 'True', reason: 'Test', message: 'no' };
    await client.patch(CSRS, undefined, 'twice', { status: { conditions: [denied] } }, { subresource: 'approval' });
    await assert.rejects(client.patch(CSRS, undefined, 'twice', { status: { conditions: [denied, { type: 'Approved', status: 'True' }] } }, { subresource: 'approval' }),
      { code: 'Invalid', message: /status.conditions\[1\].type: Invalid value: "Approved": Approved and Denied conditions are mutually exclusive/ });
    await assert.rejects(client.patch(CSRS, undefined, 'twice', { status: { certificate: Buffer.from('x').toString('base64') } }, { subresource: 'approval' }).then(async () => {
      assert.equal((await client.get(CSRS, undefined, 'twice') as Obj).status.certificate, undefined, '/approval does not take the certificate');
      throw Object.assign(new Error('kept out'), { code: 'KeptOut' });
    }), { code: 'KeptOut' });
  });

  test('the csrcleaner removes a CSR denied over an hour ago and keeps a fresh one', async () => {
    for (const name of ['old-denied', 'new-denied']) {
      const { csr } = await createCsr({ commonName: name });
      await client.create(CSRS, undefined, csrObject(name, csr));
      const at = name === 'old-denied' ? new Date(Date.now() - 2 * 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z') : undefined;
      await client.patch(CSRS, undefined, name, { status: { conditions: [{ type: 'Denied', status: 'True', reason: 'Test', message: 'no', ...(at ? { lastUpdateTime: at } : {}) }] } }, { subresource: 'approval' });
    }
    await until('old-denied removed', () => client.get(CSRS, undefined, 'old-denied').then(() => false, (e) => e.code === 'NotFound'), 30_000);
    assert.equal((await client.get(CSRS, undefined, 'new-denied')).metadata.name, 'new-denied');
  });

  test('examples/security/certificate-signing-request.yaml: applied, approved, signed for jane; its token authenticates', async () => {
    const file = path.join(path.dirname(new URL(import.meta.url).pathname), '../../examples/security/certificate-signing-request.yaml');
    const applied = await kubectl(undefined, 'apply', '-f', file);
    assert.match(applied.stdout, /certificatesigningrequest.certificates.k8s.io\/jane created\nsecret\/bootstrap-token-abcdef created/, applied.stderr);
    assert.equal((await kubectl(undefined, 'certificate', 'approve', 'jane')).code, 0);
    const signed = await until('jane issued', async () => (await client.get(CSRS, undefined, 'jane') as Obj).status?.certificate, 30_000);
    const cert = inspectCertificate(Buffer.from(signed, 'base64').toString());
    assert.deepEqual([cert.commonName, cert.organizations], ['jane', ['developers']]);
    assert.equal((await review('abcdef.0123456789abcdef')).user.username, 'system:bootstrap:abcdef');
    await client.delete(SECRETS, 'kube-system', 'bootstrap-token-abcdef');
  });

  test('a CSR with a bad signature is refused (422) with Kubernetes\' message, and nothing is stored', async () => {
    const { csr } = await createCsr({ commonName: 'mallory' });
    const file = path.join(api.dir, 'bad.yaml');
    const obj = csrObject('bad-signature', badSignature(csr));
    fs.writeFileSync(file, JSON.stringify(obj));
    const r = await kubectl(undefined, 'create', '-f', file);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim(), `The CertificateSigningRequest "bad-signature" is invalid: spec.request: Invalid value: "${(obj as Obj).spec.request}": x509: ECDSA verification failure`);
    await assert.rejects(client.get(CSRS, undefined, 'bad-signature'), { code: 'NotFound' });
  });

  test('the kubelet client signer fails a request whose subject is not a node (SignerValidationFailure)', async () => {
    const { csr } = await createCsr({ commonName: 'not-a-node' });
    await client.create(CSRS, undefined, csrObject('wrong-subject', csr, { signerName: 'kubernetes.io/kube-apiserver-client-kubelet' }));
    const stored = await client.get(CSRS, undefined, 'wrong-subject') as Obj;
    await client.patch(CSRS, undefined, 'wrong-subject', { status: { conditions: [{ type: 'Approved', status: 'True', reason: 'Test', message: 'approved by the test' }] } }, { subresource: 'approval' });
    const failed = await until('Failed condition', async () => ((await client.get(CSRS, undefined, 'wrong-subject') as Obj).status?.conditions ?? []).find((c: Obj) => c.type === 'Failed'), 30_000);
    assert.deepEqual([failed.reason, failed.message], ['SignerValidationFailure', 'subject organization is not system:nodes']);
    assert.equal(stored.spec.username, 'admin', 'the requester is who sent it (the token file\'s user)');
  });

  test('a bootstrap token authenticates until it expires (the tokencleaner then deletes it) or is deleted', async () => {
    await client.create(SECRETS, 'kube-system', tokenSecret('abcdef', '0123456789abcdef', { 'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token' }));
    const ok = await review('abcdef.0123456789abcdef');
    assert.equal(ok.authenticated, true);
    assert.deepEqual(ok.user, { username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token'] });
    assert.notEqual((await review('abcdef.0123456789abcdex')).authenticated, true, 'a wrong secret');
    const whoami = await fetch(`${secured.url}/api/v1/namespaces/default/pods`, { headers: { authorization: 'Bearer abcdef.0123456789abcdef' } });
    assert.equal(whoami.status, 200, 'a bootstrap token is a bearer credential (kubemu has no RBAC yet to narrow it)');
    // Expired: refused at once, and the tokencleaner deletes the Secret.
    const s = await client.get(SECRETS, 'kube-system', 'bootstrap-token-abcdef') as Obj;
    s.data.expiration = Buffer.from(new Date(Date.now() - 60_000).toISOString()).toString('base64');
    await client.update(SECRETS, 'kube-system', s as KubeObject);
    assert.notEqual((await review('abcdef.0123456789abcdef')).authenticated, true);
    assert.equal((await fetch(`${secured.url}/api/v1/namespaces/default/pods`, { headers: { authorization: 'Bearer abcdef.0123456789abcdef' } })).status, 401);
    await until('expired token deleted', async () => client.get(SECRETS, 'kube-system', 'bootstrap-token-abcdef').then(() => false, (e) => e.code === 'NotFound'), 30_000);
    // Deleted: refused.
    await client.create(SECRETS, 'kube-system', tokenSecret('ghijkl', '0123456789abcdef'));
    assert.equal((await review('ghijkl.0123456789abcdef')).authenticated, true);
    await client.delete(SECRETS, 'kube-system', 'bootstrap-token-ghijkl');
    assert.notEqual((await review('ghijkl.0123456789abcdef')).authenticated, true);
  });

  test('TLS bootstrap: a bootstrap token → CSR auto-approved and signed → system:node:<name> certificate, reused on restart, renewed as the node', async () => {
    await client.create(SECRETS, 'kube-system', tokenSecret('nodeaa', 'aaaabbbbccccdddd'));
    const bootstrap = createApiClient({ transport: 'grpc', server: secured.grpcAddress, token: 'nodeaa.aaaabbbbccccdddd' });
    cleanups.push(() => bootstrap.close());
    const dir = path.join(api.dir, 'kubelet-pki');
    const first = await bootstrapClientCertificate({ client: bootstrap, nodeName: 'worker-1', dir, pollMs: 100, timeoutMs: 60_000 });
    assert.equal(first.reused, false);
    const info = inspectCertificate(first.cert);
    assert.equal(info.commonName, 'system:node:worker-1');
    assert.deepEqual(info.organizations, ['system:nodes']);
    assert.ok(await info.signedBy(ca.cert));
    assert.equal(fs.statSync(fs.realpathSync(path.join(dir, CURRENT_FILE))).mode & 0o777, 0o600);
    const csr = (await client.list(CSRS, undefined)).items.find((c: Obj) => c.spec.username === 'system:bootstrap:nodeaa') as Obj;
    assert.deepEqual(csr.status.conditions.map((c: Obj) => [c.type, c.reason, c.message]), [['Approved', 'AutoApproved', 'Auto approving kubelet client certificate after SubjectAccessReview.']]);
    // A restart reads the saved pair instead of asking again.
    const again = await bootstrapClientCertificate({ client: bootstrap, nodeName: 'worker-1', dir });
    assert.equal(again.reused, true);
    assert.equal(again.cert, first.cert);
    // Not yet due: renew keeps it. Past the deadline: a new CSR, sent as system:node:worker-1 (its groups are what
    // an x509 certificate of the node gives), auto-approved as a self renewal.
    assert.equal((await renew({ client: bootstrap, nodeName: 'worker-1', dir, random: 1 })).cert, first.cert);
    const nodeApi = await testApiServer({ after: (fn) => cleanups.push(fn) }, { etcd: api.etcd, tokens: new Map([['node-token-for-tests', { username: 'system:node:worker-1', groups: ['system:nodes'] }], [ADMIN, { username: 'admin', groups: ['system:masters'] }]]) });
    const node = createApiClient({ transport: 'grpc', server: nodeApi.grpcAddress, token: 'node-token-for-tests' });
    cleanups.push(() => node.close());
    const renewed = await renew({ client: node, nodeName: 'worker-1', dir, pollMs: 100, now: first.notAfter.getTime() - 1000 });
    assert.equal(renewed.reused, false);
    assert.notEqual(renewed.cert, first.cert);
    const self = (await client.list(CSRS, undefined)).items.find((c: Obj) => c.spec.username === 'system:node:worker-1') as Obj;
    assert.equal(self.status.conditions[0].message, 'Auto approving self kubelet client certificate after SubjectAccessReview.');
  });

  test('kubelet-serving (kubemu\'s choice): a node\'s own names are approved and signed, a foreign name stays pending', async () => {
    const nodeApi = await testApiServer({ after: (fn) => cleanups.push(fn) }, { etcd: api.etcd, tokens: new Map([['serving-node-token', { username: 'system:node:worker-9', groups: ['system:nodes'] }]]) });
    const node = createApiClient({ transport: 'grpc', server: nodeApi.grpcAddress, token: 'serving-node-token' });
    cleanups.push(() => node.close());
    await client.create({ group: '', resource: 'nodes' }, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-9' } } as KubeObject);
    const n = await client.get({ group: '', resource: 'nodes' }, undefined, 'worker-9') as Obj;
    await client.updateStatus({ group: '', resource: 'nodes' }, undefined, { ...n, status: { addresses: [{ type: 'InternalIP', address: '10.0.9.9' }, { type: 'Hostname', address: 'worker-9' }] } } as KubeObject);
    const serving = { signerName: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'] };
    const own = await createCsr({ commonName: 'system:node:worker-9', organizations: ['system:nodes'], dnsNames: ['worker-9'], ipAddresses: ['10.0.9.9'] });
    await node.create(CSRS, undefined, csrObject('serving-own', own.csr, serving));
    const foreign = await createCsr({ commonName: 'system:node:worker-9', organizations: ['system:nodes'], dnsNames: ['kubernetes.default.svc'] });
    await node.create(CSRS, undefined, csrObject('serving-foreign', foreign.csr, serving));
    const signed = await until('serving-own issued', async () => (await client.get(CSRS, undefined, 'serving-own') as Obj).status?.certificate, 30_000);
    const cert = inspectCertificate(Buffer.from(signed, 'base64').toString());
    assert.deepEqual([cert.commonName, cert.dnsNames, cert.ipAddresses], ['system:node:worker-9', ['worker-9'], ['10.0.9.9']]);
    assert.equal((await kubectl(undefined, 'get', 'csr', 'serving-foreign', '--no-headers')).stdout.trim().split(/\s+/).pop(), 'Pending');
    // The kubelet's own way (--rotate-server-certificates): its serving certificate for its names, kept and reused.
    const dir = path.join(api.dir, 'kubelet-9-pki');
    const mine = await bootstrapServingCertificate({ client: node, nodeName: 'worker-9', dir, dnsNames: ['worker-9'], ipAddresses: ['10.0.9.9'], pollMs: 100, timeoutMs: 30_000 });
    assert.deepEqual([inspectCertificate(mine.cert).dnsNames, inspectCertificate(mine.cert).ipAddresses, mine.reused], [['worker-9'], ['10.0.9.9'], false]);
    assert.equal((await bootstrapServingCertificate({ client: node, nodeName: 'worker-9', dir, dnsNames: ['worker-9'], ipAddresses: ['10.0.9.9'] })).reused, true);
    // --rotate-certificates: a client certificate past its rotation deadline (here: 10 s left of 5 min) is renewed as the node.
    const old = await issueCertificate(ca, { commonName: 'system:node:worker-9', organizations: ['system:nodes'], usage: 'client', days: 10 / 86_400 });
    fs.writeFileSync(path.join(dir, CURRENT_FILE), old.cert + old.key, { mode: 0o600 });
    const renewed = await new Promise<{ cert: string }>((resolve) => {
      const due = scheduleClientRotation({ client: node, nodeName: 'worker-9', dir, pollMs: 100, onRenewed: resolve });
      assert.ok(due !== undefined && due < Date.now());
    });
    assert.notEqual(renewed.cert, old.cert);
    assert.ok(inspectCertificate(renewed.cert).notAfter.getTime() > inspectCertificate(old.cert).notAfter.getTime());
    assert.equal(fs.readFileSync(path.join(dir, CURRENT_FILE), 'utf8').startsWith(renewed.cert), true);
  });

  test('TLS bootstrap: a denied CSR ends the wait with a clear error', async () => {
    // A requester the approver does not approve for (not a bootstrapper, not the node itself): it stays pending.
    const otherApi = await testApiServer({ after: (fn) => cleanups.push(fn) }, { etcd: api.etcd, tokens: new Map([['someone-token', { username: 'someone', groups: [] }]]) });
    const someone = createApiClient({ transport: 'grpc', server: otherApi.grpcAddress, token: 'someone-token' });
    cleanups.push(() => someone.close());
    const waiting = bootstrapClientCertificate({ client: someone, nodeName: 'worker-2', dir: path.join(api.dir, 'pki-2'), pollMs: 100, timeoutMs: 60_000 });
    const pending = await until('the CSR of worker-2', async () => (await client.list(CSRS, undefined)).items.find((c: Obj) => c.spec.username === 'someone') as Obj | undefined, 30_000);
    await client.patch(CSRS, undefined, pending.metadata.name, { status: { conditions: [{ type: 'Denied', status: 'True', reason: 'NotTrusted', message: 'who is this' }] } }, { subresource: 'approval' });
    await assert.rejects(waiting, { message: `certificate signing request ${pending.metadata.name} was denied: NotTrusted: who is this` });
    assert.equal(fs.existsSync(path.join(api.dir, 'pki-2', CURRENT_FILE)), false);
  });
});
