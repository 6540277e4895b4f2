// The ServiceAccount token issuer and authenticator without a server: claims, expiry, binding, key rotation,
// and how the request authenticator combines them with the token file and learning mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import type { KubeObject } from '../../api/types.ts';
import { ServiceAccountTokens, keyId } from './service-account-tokens.ts';
import { ANONYMOUS_ADMIN, requestAuthenticator } from './authenticator.ts';

const sa: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: 'shop', uid: 'sa-uid' } };
const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop', uid: 'pod-uid' } };

function issuer(objects: Map<string, KubeObject>, key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, publicKeys: crypto.KeyObject[] = []) {
  return new ServiceAccountTokens({ signingKey: key, publicKeys, lookup: { get: async (r, ns, n) => objects.get(`${r}/${ns}/${n}`) } });
}

test('a bound token is the ServiceAccount, with its groups and the pod in extra; it ends with the pod', async () => {
  const objects = new Map([['serviceaccounts/shop/app', sa], ['pods/shop/p', pod]]);
  const t = issuer(objects);
  const { token, expirationTimestamp } = await t.issue(sa, t.audiences, 3600, { kind: 'Pod', name: 'p', uid: 'pod-uid' });
  assert.ok(Math.abs(Date.parse(expirationTimestamp) - Date.now() - 3600_000) < 5000);
  const ok = await t.authenticate(token);
  assert.ok('user' in ok);
  assert.deepEqual(ok.user.groups, ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated']);
  assert.equal(ok.user.username, 'system:serviceaccount:shop:app');
  assert.deepEqual(ok.user.extra?.['authentication.kubernetes.io/pod-name'], ['p']);
  objects.set('pods/shop/p', { ...pod, metadata: { ...pod.metadata, uid: 'another-pod' } });
  assert.deepEqual(await t.authenticate(token), { error: 'pods "p" not found' });
});

test('expired, another key, another issuer, alg none: each refused, and only our own JWTs count as ours', async () => {
  const objects = new Map([['serviceaccounts/shop/app', sa]]);
  const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const t = issuer(objects, key);
  const kid = keyId(crypto.createPublicKey(key));
  const body = { iss: t.issuer, sub: 'system:serviceaccount:shop:app', aud: t.audiences, 'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'app', uid: 'sa-uid' } } };
  const past = Math.floor(Date.now() / 1000) - 120;
  const expired = await new SignJWT({ ...body, iat: past - 600, exp: past }).setProtectedHeader({ alg: 'ES256', kid }).sign(key);
  assert.deepEqual(await t.authenticate(expired), { error: 'service account token has expired' });
  const other = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const forged = await new SignJWT({ ...body, exp: past + 7200 }).setProtectedHeader({ alg: 'ES256', kid }).sign(other);
  assert.equal('user' in await t.authenticate(forged), false);
  const foreign = await new SignJWT({ ...body, iss: 'https://elsewhere', exp: past + 7200 }).setProtectedHeader({ alg: 'ES256' }).sign(other);
  assert.equal((await t.authenticate(foreign) as { notMine?: boolean }).notMine, true);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...body, exp: past + 7200 })).toString('base64url')}.`;
  assert.equal('user' in await t.authenticate(none), false);
  assert.equal((await t.authenticate('plain-static-token') as { notMine?: boolean }).notMine, true);

  // Learning mode: what is not ours is the anonymous admin as before; ours but invalid is refused.
  const learning = requestAuthenticator({ serviceAccounts: t });
  assert.deepEqual(await learning.authenticate('plain-static-token'), ANONYMOUS_ADMIN);
  assert.deepEqual(await learning.authenticate(foreign), ANONYMOUS_ADMIN);
  assert.equal(await learning.authenticate(expired), undefined);
  assert.equal(await learning.authenticate(none), undefined);
  // Authentication on: a token file, so anything it and the issuer do not accept is refused.
  const on = requestAuthenticator({ tokens: new Map([['s3cret', { username: 'admin', groups: [] }]]), serviceAccounts: t });
  assert.equal(await on.authenticate(undefined), undefined);
  assert.equal(await on.authenticate('plain-static-token'), undefined);
  assert.equal((await on.authenticate('s3cret'))?.username, 'admin');
});

test('key rotation: a token signed by the previous key verifies while its public key is still listed', async () => {
  const objects = new Map([['serviceaccounts/shop/app', sa]]);
  const oldKey = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const { token } = await issuer(objects, oldKey).issue(sa, ['https://kubernetes.default.svc.cluster.local'], 600);
  const rotated = issuer(objects, crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, [crypto.createPublicKey(oldKey)]);
  assert.ok('user' in await rotated.authenticate(token));
  const forgotten = issuer(objects, crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  assert.equal('user' in await forgotten.authenticate(token), false);
});
