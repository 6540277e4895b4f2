// The kubelet's token manager: when a cached token is renewed (80% of its lifetime, or 24 h, less the jitter), and
// against a real apiserver: a cached token is reused, a new one asked for once it is due, each bound to the pod.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApiClient, type ApiClient } from '../client/index.ts';
import { testApiServer } from '../test/harness/apiserver.ts';
import { MAX_TTL_MS, TokenManager, requiresRefresh } from './token-manager.ts';

const at = (iso: string) => Date.parse(iso);
const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());

describe('requiresRefresh', () => {
  const issued = at('2026-01-01T00:00:00Z');
  const token = (seconds: number) => ({ token: 't', expirationSeconds: seconds, expirationTimestamp: new Date(issued + seconds * 1000).toISOString() });

  test('a mounted token (3607 s) is renewed once it is 80% through its lifetime', () => {
    const t = token(3607);
    // 20% of 3607 s is 721 s (whole seconds, as Kubernetes' integer arithmetic): due from 2886 s on.
    assert.equal(requiresRefresh(t, issued + 2886_000, 0), false);
    assert.equal(requiresRefresh(t, issued + 2886_001, 0), true);
    assert.equal(requiresRefresh(t, issued + 1000_000, 0), false);
  });

  test('the jitter brings it forward by up to 10 s', () => {
    const t = token(3607);
    assert.equal(requiresRefresh(t, issued + 2880_000, 0), false);
    assert.equal(requiresRefresh(t, issued + 2880_000, 9_000), true);
  });

  test('a long-lived token is renewed after 24 hours, before 80% of its lifetime', () => {
    const t = token(7 * 24 * 3600);
    assert.equal(requiresRefresh(t, issued + MAX_TTL_MS - 1, 0), false);
    assert.equal(requiresRefresh(t, issued + MAX_TTL_MS + 1, 0), true);
  });
});

describe('TokenManager against a real apiserver', () => {
  const cleanups: Array<() => unknown> = [];
  let client: ApiClient;
  let podUid: string;
  before(async () => {
    const api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    client = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    await client.create({ group: '', resource: 'serviceaccounts' }, 'default', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: 'default' } });
    const pod = await client.create({ group: '', resource: 'pods' }, 'default', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { serviceAccountName: 'app', containers: [{ name: 'c', image: 'kubemu/hello:1' }] },
    } as never);
    podUid = pod.metadata.uid!;
  });
  after(async () => { await client?.close(); for (const fn of cleanups.reverse()) await fn(); });

  test('the cached token is used until it is due, then a new one is asked for, bound to the pod', async () => {
    let now = Date.now();
    const m = new TokenManager(client, { now: () => now, jitterMs: () => 0 });
    const spec = { expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1' as const, kind: 'Pod' as const, name: 'web', uid: podUid } };
    const first = await m.get('default', 'app', spec);
    const c = claims(first);
    assert.equal(c.sub, 'system:serviceaccount:default:app');
    assert.deepEqual(c['kubernetes.io'].pod, { name: 'web', uid: podUid });
    assert.equal(c.exp - c.iat, 3607);
    now += 60_000;
    assert.equal(await m.get('default', 'app', spec), first, 'a fresh token is reused');
    now += 2850_000; // 2910 s after issue: past 80%
    const second = await m.get('default', 'app', spec);
    assert.notEqual(second, first);
    assert.notEqual(claims(second).jti, c.jti);
    // Another audience is another token.
    const other = await m.get('default', 'app', { ...spec, audiences: ['vault'] });
    assert.deepEqual(claims(other).aud, ['vault']);
    m.deletePod(podUid);
    assert.notEqual(await m.get('default', 'app', spec), second, 'a deleted pod\'s tokens are forgotten');
  });

  test('when the API gives no new token, the old one serves until it expires', async () => {
    let now = Date.now();
    const m = new TokenManager(client, { now: () => now, jitterMs: () => 0 });
    const spec = { expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1' as const, kind: 'Pod' as const, name: 'web', uid: podUid } };
    const first = await m.get('default', 'app', spec);
    await client.delete({ group: '', resource: 'serviceaccounts' }, 'default', 'app');
    now += 3000_000; // due, not expired
    assert.equal(await m.get('default', 'app', spec), first);
    now += 700_000; // expired
    await assert.rejects(m.get('default', 'app', spec), /serviceaccounts "app" not found/);
  });
});
