// Encryption at rest: the providers' formats, key rotation, Kubernetes' config validation, and an EtcdStore on a
// real etcd writing ciphertext that reads back plain (get, list, watch).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { encryptionFromConfig, EncryptionConfigError } from './encryption.ts';
import { newEncryptionConfigYaml } from '../../lib/encryption-config.ts';
import { EtcdStore } from './etcd-store.ts';
import { testEtcd } from '../../test/harness/etcd.ts';
import type { EtcdProcess } from '../../lib/etcd-process.ts';
import YAML from 'yaml';

const key = (n: number) => crypto.randomBytes(n).toString('base64');
const config = (providers: unknown[], resources = ['secrets']) =>
  ({ apiVersion: 'apiserver.config.k8s.io/v1', kind: 'EncryptionConfiguration', resources: [{ resources, providers }] });
const SECRET_KEY = '/registry/secrets/default/s';
const plain = Buffer.from('{"kind":"Secret","data":{"a":"c2VjcmV0"}}');

describe('encryption providers', () => {
  for (const kind of ['aescbc', 'aesgcm', 'secretbox']) {
    test(`${kind}: Kubernetes' prefix, ciphertext without the plaintext, reads back`, () => {
      const t = encryptionFromConfig(config([{ [kind]: { keys: [{ name: 'k1', secret: key(32) }] } }]));
      const stored = t.toStorage(SECRET_KEY, plain);
      assert.ok(stored.subarray(0, `k8s:enc:${kind}:v1:k1:`.length).equals(Buffer.from(`k8s:enc:${kind}:v1:k1:`)), stored.toString('latin1').slice(0, 30));
      assert.equal(stored.includes(Buffer.from('c2VjcmV0')), false);
      assert.deepEqual(t.fromStorage(SECRET_KEY, stored), plain);
      assert.notDeepEqual(t.toStorage(SECRET_KEY, plain), stored); // a fresh IV/nonce each write
    });
  }

  test('aesgcm binds a value to its etcd key: copied under another key it does not decrypt', () => {
    const t = encryptionFromConfig(config([{ aesgcm: { keys: [{ name: 'k1', secret: key(16) }] } }]));
    const stored = t.toStorage(SECRET_KEY, plain);
    assert.throws(() => t.fromStorage('/registry/secrets/default/other', stored), /message authentication failed/);
  });

  test('rotation: a new first key encrypts, the old one still reads; identity first reads encrypted data (migration)', () => {
    const k1 = key(32), k2 = key(32);
    const old = encryptionFromConfig(config([{ aescbc: { keys: [{ name: 'k1', secret: k1 }] } }]));
    const stored = old.toStorage(SECRET_KEY, plain);
    const rotated = encryptionFromConfig(config([{ aescbc: { keys: [{ name: 'k2', secret: k2 }, { name: 'k1', secret: k1 }] } }]));
    assert.deepEqual(rotated.fromStorage(SECRET_KEY, stored), plain);
    assert.match(rotated.toStorage(SECRET_KEY, plain).toString('latin1'), /^k8s:enc:aescbc:v1:k2:/);
    const leaving = encryptionFromConfig(config([{ identity: {} }, { aescbc: { keys: [{ name: 'k1', secret: k1 }] } }]));
    assert.deepEqual(leaving.fromStorage(SECRET_KEY, stored), plain);
    assert.deepEqual(leaving.toStorage(SECRET_KEY, plain), plain);
  });

  test('a wrong key or a missing one is an error, never garbage', () => {
    const a = encryptionFromConfig(config([{ secretbox: { keys: [{ name: 'k1', secret: key(32) }] } }]));
    const b = encryptionFromConfig(config([{ secretbox: { keys: [{ name: 'k1', secret: key(32) }] } }]));
    assert.throws(() => b.fromStorage(SECRET_KEY, a.toStorage(SECRET_KEY, plain)), /output array was not large enough/);
    const onlyIdentity = encryptionFromConfig(config([{ identity: {} }]));
    assert.throws(() => onlyIdentity.fromStorage(SECRET_KEY, a.toStorage(SECRET_KEY, plain)), /no matching prefix found/);
    const noIdentity = encryptionFromConfig(config([{ aescbc: { keys: [{ name: 'k1', secret: key(32) }] } }]));
    assert.throws(() => noIdentity.fromStorage(SECRET_KEY, plain), /no matching prefix found/);
  });

  test('only the resources named are encrypted; *. is the core group, *.* everything served', () => {
    const secretsOnly = encryptionFromConfig(config([{ aescbc: { keys: [{ name: 'k1', secret: key(32) }] } }]));
    assert.deepEqual(secretsOnly.toStorage('/registry/configmaps/default/c', plain), plain);
    const core = encryptionFromConfig(config([{ aesgcm: { keys: [{ name: 'k1', secret: key(32) }] } }], ['*.']));
    assert.notDeepEqual(core.toStorage('/registry/configmaps/default/c', plain), plain);
    assert.deepEqual(core.toStorage('/registry/deployments/default/d', plain), plain);
    const all = encryptionFromConfig(config([{ aesgcm: { keys: [{ name: 'k1', secret: key(32) }] } }], ['*.*']));
    assert.notDeepEqual(all.toStorage('/registry/deployments/default/d', plain), plain);
    assert.notDeepEqual(all.toStorage('/registry/example.com/widgets/default/w', plain), plain);
  });

  test('bad configurations get Kubernetes\' messages (the secret itself is never printed)', () => {
    const bad = (cfg: unknown) => { try { encryptionFromConfig(cfg); } catch (err) { assert.ok(err instanceof EncryptionConfigError); return (err as Error).message; } assert.fail('accepted'); };
    const short = key(8);
    const msg = bad(config([{ aescbc: { keys: [{ name: 'k1', secret: short }] } }]));
    assert.equal(msg, 'resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 8, expected one of [16 24 32]');
    assert.equal(msg.includes(short), false);
    assert.equal(bad(config([{ secretbox: { keys: [{ name: 'k1', secret: key(16) }] } }])),
      'resources[0].providers[0].secretbox.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 16, expected one of [32]');
    assert.equal(bad(config([{ aescbc: { keys: [{ name: 'k1', secret: 'not base64!' }] } }])),
      'resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": secrets must be base64 encoded');
    assert.equal(bad(config([{ aescbc: { keys: [] } }])), 'resources[0].providers[0].aescbc.keys: Required value: at least one keys is required');
    assert.match(bad(config([{ aescbc: { keys: [{ name: 'k', secret: key(32) }] }, identity: {} }])), /more than one provider specified in a single element/);
    assert.match(bad(config([{ kms: { name: 'vault', endpoint: 'unix:///kms.sock' } }])), /kms: Invalid value: "vault": KMS providers are not supported by kubemu/);
    assert.match(bad(config([{ identity: {} }], ['secrets', '*.'])), /overlapping resources such as 'secrets' and '\*\.'/);
    assert.match(bad(config([{ identity: {} }], ['*'])), /use '\*\.' to encrypt all the resources from core API group/);
    assert.match(bad(config([{ identity: {} }], ['Secrets'])), /resource name should not contain capital letters/);
    assert.equal(bad({ apiVersion: 'apiserver.config.k8s.io/v1', kind: 'EncryptionConfiguration', resources: [] }), 'resources: Required value: at least one resources is required');
  });

  test('kubemu up\'s default: Secrets under aescbc with a 32-byte key, identity after it', () => {
    const cfg = YAML.parse(newEncryptionConfigYaml());
    const t = encryptionFromConfig(cfg);
    assert.deepEqual(t.resources, ['secrets']);
    assert.equal(Buffer.from(cfg.resources[0].providers[0].aescbc.keys[0].secret, 'base64').length, 32);
    assert.deepEqual(cfg.resources[0].providers[1], { identity: {} });
  });
});

describe('an EtcdStore with encryption at rest, on a real etcd', () => {
  let etcd: EtcdProcess;
  let store: EtcdStore;
  const cleanups: Array<() => unknown> = [];
  before(async () => {
    etcd = await testEtcd({ after: (fn) => cleanups.push(fn) });
    store = new EtcdStore({ endpoints: [etcd.endpoint], transformer: encryptionFromConfig(config([{ aesgcm: { keys: [{ name: 'k1', secret: key(32) }] } }, { identity: {} }])) });
  });
  after(async () => {
    await store?.close();
    for (const fn of cleanups) await fn();
  });

  test('etcd holds ciphertext; get, list and watch give the object; a ConfigMap stays plain', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { password: Buffer.from('hunter2').toString('base64') } };
    const w = store.watch('/registry/secrets/', { fromRevision: Number(await store.currentRevision()) });
    await store.create(SECRET_KEY, secret);
    await store.create('/registry/configmaps/default/c', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { k: 'visible' } });
    const raw = await store.client.get(SECRET_KEY).buffer();
    assert.match(raw!.toString('latin1'), /^k8s:enc:aesgcm:v1:k1:/);
    assert.equal(raw!.includes(Buffer.from(secret.data.password)), false);
    assert.match((await store.client.get('/registry/configmaps/default/c').string())!, /visible/);
    assert.deepEqual((await store.get(SECRET_KEY))?.data, secret.data);
    assert.deepEqual((await store.list('/registry/secrets/')).items.map((s) => s.data), [secret.data]);
    const ev = await w[Symbol.asyncIterator]().next();
    w.close();
    assert.equal(ev.value.type, 'ADDED');
    assert.deepEqual(ev.value.object.data, secret.data);
    // Plain data written before encryption was turned on (identity second) still reads.
    await store.client.put('/registry/secrets/default/old').value(JSON.stringify({ ...secret, metadata: { name: 'old', namespace: 'default' } }));
    assert.deepEqual((await store.get('/registry/secrets/default/old'))?.data, secret.data);
  });

  test('a value no configured key opens fails its own read with Kubernetes\' message; the others still read', async () => {
    await store.client.put('/registry/secrets/other/broken').value(Buffer.concat([Buffer.from('k8s:enc:aescbc:v1:gone:'), crypto.randomBytes(32)]));
    await assert.rejects(store.get('/registry/secrets/other/broken'),
      { message: 'Internal error occurred: unable to transform key "/registry/secrets/other/broken": no matching prefix found' });
    assert.equal((await store.get(SECRET_KEY))?.metadata.name, 's');
  });
});
