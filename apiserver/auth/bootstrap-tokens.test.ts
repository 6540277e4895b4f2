// The bootstrap token authenticator over Secrets given directly (the store's lookup is all it reads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../api/types.ts';
import { BootstrapTokens } from './bootstrap-tokens.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'bootstrap.kubernetes.io/token', metadata: { name: 'bootstrap-token-abcdef', namespace: 'kube-system' },
  data: Object.fromEntries(Object.entries({ 'token-id': 'abcdef', 'token-secret': '0123456789abcdef', 'usage-bootstrap-authentication': 'true', ...data }).map(([k, v]) => [k, b64(v)])),
  ...extra,
}) as unknown as KubeObject;
const tokens = (s: KubeObject | undefined) => new BootstrapTokens({ get: async (r, ns, name) => (r === 'secrets' && ns === 'kube-system' && name === 'bootstrap-token-abcdef' ? s : undefined) });

test('a bootstrap token is system:bootstrap:<id> in system:bootstrappers and its extra groups', async () => {
  const r = await tokens(secret({ 'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token', expiration: new Date(Date.now() + 60_000).toISOString() })).authenticate('abcdef.0123456789abcdef');
  assert.deepEqual(r, { user: { username: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token'] } });
});

test('not a bootstrap token (format, no Secret): left to the next authenticator; a bad one: refused with the reason', async () => {
  const t = tokens(secret({}));
  assert.equal(await t.authenticate('not-a-token'), undefined);
  assert.equal(await t.authenticate('zzzzzz.0123456789abcdef'), undefined);
  const refused = async (s: KubeObject, token = 'abcdef.0123456789abcdef') => ((await tokens(s).authenticate(token)) as { error: string }).error;
  assert.match(await refused(secret({}), 'abcdef.0123456789abcdex'), /does not match/);
  assert.match(await refused(secret({ expiration: new Date(Date.now() - 1000).toISOString() })), /expired/);
  assert.match(await refused(secret({ expiration: 'not a time' })), /expired/);
  assert.match(await refused(secret({ 'usage-bootstrap-authentication': 'false' })), /not for authentication/);
  assert.match(await refused(secret({}, { type: 'Opaque' })), /not of type/);
  assert.match(await refused(secret({ 'auth-extra-groups': 'system:masters' })), /invalid auth-extra-groups/);
});
