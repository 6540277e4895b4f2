import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { advertiseAddressOf, apiserverUrl, ensureJoinTokens, joinCommand, serviceCidrOf } from './join.ts';
import { readTokenFile } from '../apiserver/auth/authenticator.ts';

test('join: the apiserver URL is https, port 6443 by default', () => {
  assert.equal(apiserverUrl('10.0.0.1').origin, 'https://10.0.0.1:6443');
  assert.equal(apiserverUrl('https://10.0.0.1:7000').origin, 'https://10.0.0.1:7000');
  assert.throws(() => apiserverUrl('http://10.0.0.1:6443'), /serves HTTPS: use https:\/\/10\.0\.0\.1:6443/);
  assert.throws(() => apiserverUrl('ftp://x'), /want https/);
});

test('join: service range from the kube-dns ClusterIP; the join command', () => {
  assert.equal(serviceCidrOf('10.96.0.10'), '10.96.0.0/16');
  assert.equal(serviceCidrOf('10.97.42.10'), '10.97.42.0/24');
  assert.equal(serviceCidrOf(undefined), '10.96.0.0/16');
  const caCertHash = `sha256:${'a'.repeat(64)}`;
  assert.equal(joinCommand({ advertise: '10.0.0.1', port: 6443, token: 'a.b', caCertHash, nodeMonitorGracePeriod: 40 }), `kubemu join --apiserver https://10.0.0.1:6443 --token a.b --discovery-token-ca-cert-hash ${caCertHash}`);
  assert.equal(joinCommand({ advertise: '10.0.0.1', port: 6443, token: 'a.b', caCertHash, nodeMonitorGracePeriod: 6 }), `kubemu join --apiserver https://10.0.0.1:6443 --token a.b --discovery-token-ca-cert-hash ${caCertHash} --node-monitor-grace-period 6`);
  assert.equal(advertiseAddressOf('10.0.0.1'), '10.0.0.1');
  assert.equal(advertiseAddressOf('0.0.0.0', '10.0.0.9'), '10.0.0.9');
});

test('up --token-auth: a token file the apiserver reads, kept across runs, private', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-tokens-'));
  try {
    const t = ensureJoinTokens(dir);
    assert.match(t.join, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.notEqual(t.admin, t.join);
    assert.equal(fs.statSync(t.file).mode & 0o777, 0o600);
    const table = readTokenFile(t.file);
    assert.equal(table.get(t.admin)?.username, 'kubemu-admin');
    assert.deepEqual(table.get(t.join)?.groups, ['system:bootstrappers', 'system:nodes', 'system:authenticated']);
    assert.deepEqual(ensureJoinTokens(dir), t);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
