// ServiceAccount tokens with the real kubectl (1.27 sends its TokenRequest in JSON, 1.32 and 1.33 in protobuf): the
// default ServiceAccount made by the controller manager's serviceaccount controller, `kubectl create token` with its
// flags, tokens as bearer credentials, bound tokens that end with their pod, and what is refused. kubectl sends no
// token over plain HTTP, so it talks to an apiserver in learning mode (no token file); a second apiserver on the same
// etcd and signing key has authentication on (a token file), where a request without a token is 401.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { kubectlApiServer, testApiServer, type TestApiServer } from '../harness/apiserver.ts';
import { until } from '../harness/until.ts';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { ControllerManager } from '../../controller-manager/manager.ts';
import { silentLogger } from '../../lib/logger.ts';

const ADMIN = 'admin-token-for-tests';
const KUBECTL_DIR = path.dirname(fs.realpathSync(path.join((process.env.PATH ?? '').split(':').find((d) => fs.existsSync(path.join(d, 'kubectl')))!, 'kubectl')));
const SA = { group: '', resource: 'serviceaccounts' };
const PODS = { group: '', resource: 'pods' };

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
const header = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());

describe('ServiceAccount tokens: TokenRequest, kubectl create token, bearer authentication', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let secured: TestApiServer;
  let client: ApiClient;
  let kubeconfig: string;
  const kubectl = (version: string | undefined, ...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(version ? path.join(KUBECTL_DIR, `kubectl.${version}`) : 'kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
  /** A GET on the apiserver with authentication on. */
  const get = (token: string | undefined, p = '/api/v1/namespaces/default/pods') =>
    fetch(`${secured.url}${p}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  before(async () => {
    const signingKey = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const first = await kubectlApiServer({ after: (fn) => cleanups.push(fn) }, 'satoken', { serviceAccountSigningKey: signingKey, token: ADMIN });
    api = first;
    kubeconfig = first.kubeconfig;
    secured = await testApiServer({ after: (fn) => cleanups.push(fn) }, {
      etcd: api.etcd, serviceAccountSigningKey: signingKey, tokens: new Map([[ADMIN, { username: 'admin', groups: ['system:masters'] }]]),
    });
    client = createApiClient({ transport: 'grpc', server: api.grpcAddress, token: ADMIN });
    const stop = new AbortController();
    const cm = new ControllerManager({ client, logger: silentLogger(), controllers: ['serviceaccount'] }).run(stop.signal);
    cleanups.push(async () => { stop.abort(); await cm; });
  });
  after(async () => { client?.close(); for (const fn of cleanups.reverse()) await fn(); });

  test('every namespace gets a default ServiceAccount, which comes back when deleted', async () => {
    await until('default/default', () => client.get(SA, 'default', 'default'), 30_000);
    await client.create({ group: '', resource: 'namespaces' }, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    const first = await until('team-a/default', () => client.get(SA, 'team-a', 'default'), 30_000);
    await client.delete(SA, 'team-a', 'default');
    const again = await until('team-a/default again', async () => {
      const sa = await client.get(SA, 'team-a', 'default');
      return sa.metadata.uid !== first.metadata.uid && sa;
    }, 30_000);
    assert.ok(again.metadata.uid);
  });

  for (const version of ['1.27', undefined, '1.33']) {
    test(`kubectl ${version ?? '1.32'} create token: a signed JWT with Kubernetes' claims, --duration and --audience`, async () => {
      const r = await kubectl(version, 'create', 'token', 'default');
      assert.equal(r.code, 0, r.stderr);
      const jwt = r.stdout.trim();
      assert.equal(header(jwt).alg, 'ES256');
      assert.ok(header(jwt).kid);
      const c = claims(jwt);
      assert.equal(c.iss, 'https://kubernetes.default.svc.cluster.local');
      assert.equal(c.sub, 'system:serviceaccount:default:default');
      assert.deepEqual(c.aud, ['https://kubernetes.default.svc.cluster.local']);
      assert.equal(c.exp - c.iat, 3600);
      assert.equal(c['kubernetes.io'].namespace, 'default');
      assert.equal(c['kubernetes.io'].serviceaccount.uid, (await client.get(SA, 'default', 'default')).metadata.uid);
      const short = await kubectl(version, 'create', 'token', 'default', '--duration', '10m', '--audience', 'vault', '--audience', 'https://kubernetes.default.svc.cluster.local');
      assert.equal(short.code, 0, short.stderr);
      const s = claims(short.stdout.trim());
      assert.equal(s.exp - s.iat, 600);
      assert.deepEqual(s.aud, ['vault', 'https://kubernetes.default.svc.cluster.local']);
    });
  }

  test('a token is a bearer credential: with it 200, without any 401, with another audience only 401', async () => {
    assert.equal((await get(undefined)).status, 401);
    assert.equal((await get('not-a-token')).status, 401);
    const token = (await kubectl(undefined, 'create', 'token', 'default')).stdout.trim();
    assert.equal((await get(token)).status, 200);
    const vaultOnly = (await kubectl(undefined, 'create', 'token', 'default', '--audience', 'vault')).stdout.trim();
    const refused = await get(vaultOnly);
    assert.equal(refused.status, 401);
    assert.deepEqual(await refused.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    // The same over gRPC.
    const asSA = createApiClient({ transport: 'grpc', server: secured.grpcAddress, token });
    try { assert.ok((await asSA.list(PODS, 'default')).items); } finally { asSA.close(); }
  });

  test('a token bound to a pod works until the pod is deleted; a pod of another ServiceAccount cannot be bound', async () => {
    await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'holder' }, spec: { containers: [{ name: 'c', image: 'kubemu/hello:1' }] } });
    const r = await kubectl('1.33', 'create', 'token', 'default', '--bound-object-kind', 'Pod', '--bound-object-name', 'holder');
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    const pod = await client.get(PODS, 'default', 'holder');
    assert.deepEqual(claims(token)['kubernetes.io'].pod, { name: 'holder', uid: pod.metadata.uid });
    assert.equal((await get(token)).status, 200);
    await client.delete(PODS, 'default', 'holder', { gracePeriodSeconds: 0 });
    await until('the pod gone', async () => !(await client.get(PODS, 'default', 'holder').catch(() => undefined)), 30_000);
    assert.equal((await get(token)).status, 401);

    await client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder' } });
    await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'built' }, spec: { serviceAccountName: 'builder', containers: [{ name: 'c', image: 'kubemu/hello:1' }] } });
    const other = await kubectl(undefined, 'create', 'token', 'default', '--bound-object-kind', 'Pod', '--bound-object-name', 'built');
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /cannot bind token for serviceaccount "default" to pod running with serviceaccount "builder"/);
  });

  test('a token of a ServiceAccount that was deleted (or deleted and made again) no longer works', async () => {
    await client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'temp' } });
    const token = (await kubectl(undefined, 'create', 'token', 'temp')).stdout.trim();
    assert.equal((await get(token)).status, 200);
    await client.delete(SA, 'default', 'temp');
    assert.equal((await get(token)).status, 401);
    await client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'temp' } });
    assert.equal((await get(token)).status, 401, 'a new ServiceAccount of the same name is another identity');
  });

  test('kubectl auth whoami, SelfSubjectReview and TokenReview say who a token is; reviews are create-only', async () => {
    for (const version of [undefined, '1.33']) {
      const r = await kubectl(version, 'auth', 'whoami');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Username\s+system:admin/);
      assert.match(r.stdout, /Groups\s+\[system:masters system:authenticated\]/);
    }
    const post = (p: string, token: string, body: unknown) => fetch(`${secured.url}${p}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, body: await res.json() as any }));
    await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'asker' }, spec: { containers: [{ name: 'c', image: 'kubemu/hello:1' }] } });
    const token = (await kubectl(undefined, 'create', 'token', 'default', '--bound-object-kind', 'Pod', '--bound-object-name', 'asker')).stdout.trim();
    const me = await post('/apis/authentication.k8s.io/v1/selfsubjectreviews', token, { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    assert.equal(me.status, 201);
    assert.equal(me.body.status.userInfo.username, 'system:serviceaccount:default:default');
    assert.deepEqual(me.body.status.userInfo.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
    assert.deepEqual(me.body.status.userInfo.extra['authentication.kubernetes.io/pod-name'], ['asker']);

    const review = (t: string, audiences?: string[]) => post('/apis/authentication.k8s.io/v1/tokenreviews', ADMIN,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: t, ...(audiences ? { audiences } : {}) } });
    const yes = await review(token);
    assert.equal(yes.status, 201);
    assert.equal(yes.body.status.authenticated, true);
    assert.equal(yes.body.status.user.username, 'system:serviceaccount:default:default');
    assert.deepEqual(yes.body.status.audiences, ['https://kubernetes.default.svc.cluster.local']);
    const no = await review('garbage');
    assert.equal(no.body.status.authenticated, undefined);
    assert.match(no.body.status.error, /invalid bearer token/);
    const vault = (await kubectl(undefined, 'create', 'token', 'default', '--audience', 'vault')).stdout.trim();
    assert.equal((await review(vault)).body.status.authenticated, undefined, 'not for the API');
    assert.deepEqual((await review(vault, ['vault'])).body.status.audiences, ['vault'], 'for vault it is');
    assert.equal((await post('/apis/authentication.k8s.io/v1/tokenreviews', ADMIN, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: {} })).status, 400);

    const list = await fetch(`${secured.url}/apis/authentication.k8s.io/v1/tokenreviews`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(list.status, 405);
    const wide = await kubectl(undefined, 'api-resources', '--api-group', 'authentication.k8s.io', '-o', 'wide');
    assert.match(wide.stdout, /selfsubjectreviews\s+authentication\.k8s\.io\/v1\s+false\s+SelfSubjectReview\s+create/);
    assert.match(wide.stdout, /tokenreviews\s+authentication\.k8s\.io\/v1\s+false\s+TokenReview\s+create/);
  });

  test('bad input: forged, unsigned, expired and foreign tokens are refused; bad TokenRequests get Kubernetes\' messages', async () => {
    const real = (await kubectl(undefined, 'create', 'token', 'default')).stdout.trim();
    const c = claims(real);
    // alg: none — a token with no signature at all.
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${real.split('.')[1]}.`;
    assert.equal((await get(none)).status, 401);
    // The same claims signed with another key (same kid claimed).
    const other = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const forged = await new SignJWT(c).setProtectedHeader({ alg: 'ES256', kid: header(real).kid }).sign(other);
    assert.equal((await get(forged)).status, 401);
    // A changed payload under the real signature.
    const tampered = [real.split('.')[0], Buffer.from(JSON.stringify({ ...c, sub: 'system:serviceaccount:kube-system:default' })).toString('base64url'), real.split('.')[2]].join('.');
    assert.equal((await get(tampered)).status, 401);
    // Expired: exp in the past, signed with a key of its own — refused either way; the issuer's expiry check is unit-tested.
    const expired = await new SignJWT({ ...c, exp: Math.floor(Date.now() / 1000) - 60 }).setProtectedHeader({ alg: 'ES256' }).sign(other);
    assert.equal((await get(expired)).status, 401);

    const tooShort = await kubectl(undefined, 'create', 'token', 'default', '--duration', '5m');
    assert.notEqual(tooShort.code, 0);
    assert.match(tooShort.stderr, /spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/);
    const missing = await kubectl('1.27', 'create', 'token', 'nobody');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
    const node = await fetch(`${secured.url}/api/v1/namespaces/default/serviceaccounts/default/token`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { boundObjectRef: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x' } } }),
    });
    assert.equal(node.status, 400);
    assert.match(((await node.json()) as { message: string }).message, /cannot bind token to object of type \/v1, Kind=ConfigMap/);
  });
});
