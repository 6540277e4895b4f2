// Legacy Secret-based ServiceAccount tokens over a real apiserver that shares the signing key: the serviceaccount-token
// controller fills a kubernetes.io/service-account-token Secret (token with the legacy claims, ca.crt, namespace, the
// uid annotation); the apiserver accepts the token while the Secret holds it; Secrets whose account is gone are deleted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { silentLogger } from '../../lib/logger.ts';
import { testApiServer } from '../../test/harness/apiserver.ts';
import { until } from '../../test/harness/until.ts';
import { ControllerManager } from '../manager.ts';

const SECRETS = { group: '', resource: 'secrets' };
const SA = { group: '', resource: 'serviceaccounts' };
const CA = '-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n';
const dec = (s: string) => Buffer.from(s, 'base64').toString();

describe('serviceaccount-token: legacy token Secrets', () => {
  const cleanups: Array<() => unknown> = [];
  let client: ApiClient;
  const review = async (token: string) => (await client.create({ group: 'authentication.k8s.io', resource: 'tokenreviews' }, undefined,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token } } as never) as any).status;
  const tokenSecret = (name: string, sa: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default', annotations: { 'kubernetes.io/service-account.name': sa } }, type: 'kubernetes.io/service-account-token' });
  const filled = (name: string) => until(`${name} filled`, async () => {
    const s = await client.get(SECRETS, 'default', name).catch(() => undefined) as any;
    return s?.data?.token ? s : undefined;
  }, 30_000);
  const gone = (name: string) => until(`${name} deleted`, async () => !(await client.get(SECRETS, 'default', name).catch(() => undefined)), 30_000);

  before(async () => {
    const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const api = await testApiServer({ after: (fn) => cleanups.push(fn) }, { serviceAccountSigningKey: key });
    client = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    const stop = new AbortController();
    const run = new ControllerManager({ client, logger: silentLogger(), controllers: ['serviceaccount-token'], timings: { rootCA: CA, serviceAccountPrivateKey: key } }).run(stop.signal);
    cleanups.push(async () => { stop.abort(); await run; });
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); await client?.close(); });

  test('a token Secret is filled with the legacy token, ca.crt and namespace, and the token works while the Secret holds it', async () => {
    const sa = await client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: 'default' } });
    await client.create(SECRETS, 'default', tokenSecret('builder-token', 'builder') as never);
    const s = await filled('builder-token');
    assert.equal(dec(s.data.namespace), 'default');
    assert.equal(dec(s.data['ca.crt']), CA);
    assert.equal(s.metadata.annotations['kubernetes.io/service-account.uid'], sa.metadata.uid);
    const token = dec(s.data.token);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(claims, {
      iss: 'kubernetes/serviceaccount', sub: 'system:serviceaccount:default:builder',
      'kubernetes.io/serviceaccount/namespace': 'default', 'kubernetes.io/serviceaccount/secret.name': 'builder-token',
      'kubernetes.io/serviceaccount/service-account.name': 'builder', 'kubernetes.io/serviceaccount/service-account.uid': sa.metadata.uid,
    });
    const ok = await review(token);
    assert.equal(ok.authenticated, true);
    assert.equal(ok.user.username, 'system:serviceaccount:default:builder');
    await client.delete(SECRETS, 'default', 'builder-token');
    await gone('builder-token');
    const after = await review(token);
    assert.notEqual(after.authenticated, true);
    assert.match(after.error, /token has been invalidated/);
  });

  test('Secrets whose ServiceAccount is gone, or never was, are deleted', async () => {
    await client.create(SA, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'temp', namespace: 'default' } });
    await client.create(SECRETS, 'default', tokenSecret('temp-token', 'temp') as never);
    const token = dec((await filled('temp-token')).data.token);
    await client.delete(SA, 'default', 'temp');
    await gone('temp-token');
    assert.notEqual((await review(token)).authenticated, true);
    await client.create(SECRETS, 'default', tokenSecret('orphan-token', 'nobody') as never);
    await gone('orphan-token');
  });
});
