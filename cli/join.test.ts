import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCli } from './args.ts';
import { advertiseAddressOf, apiserverUrl, ensureJoinTokens, joinCommand, serviceCidrOf } from './join.ts';
import { readTokenFile } from '../apiserver/auth/authenticator.ts';

test('join: flags, --name is the node name, --apiserver required', () => {
  const a = parseCli(['join', '--apiserver', 'http://10.0.0.1:6443', '--token', 't', '--name', 'host2', '--node-ip', '10.0.0.2', '--network', 'lab', '--dir', 'd']);
  assert.equal(a.command, 'join');
  assert.deepEqual([a.apiserver, a.token, a.nodeName, a.nodeIP, a.network, a.dir, a.name], ['http://10.0.0.1:6443', 't', 'host2', '10.0.0.2', 'lab', 'd', 'kubemu']);
  assert.throws(() => parseCli(['join']), (err: any) => err.exitCode === 2 && /--apiserver URL is required/.test(err.message));
  assert.equal(parseCli(['up']).name, 'kubemu');
  assert.equal(parseCli(['up']).nodeName, undefined);
  const up = parseCli(['up', '--bind-address', '0.0.0.0', '--advertise-address', '10.0.0.1', '--token-auth']);
  assert.deepEqual([up.bindAddress, up.advertiseAddress, up.tokenAuth], ['0.0.0.0', '10.0.0.1', true]);
  assert.throws(() => parseCli(['up', '--bind-address', 'example.org']), /--bind-address: not an IP address/);
});

test('join: the apiserver URL is plain http, port 6443 by default', () => {
  assert.equal(apiserverUrl('10.0.0.1').origin, 'http://10.0.0.1:6443');
  assert.equal(apiserverUrl('http://10.0.0.1:7000').origin, 'http://10.0.0.1:7000');
  assert.throws(() => apiserverUrl('https://10.0.0.1:6443'), /plain HTTP/);
  assert.throws(() => apiserverUrl('ftp://x'), /want http/);
});

test('join: service range from the kube-dns ClusterIP; the join command', () => {
  assert.equal(serviceCidrOf('10.96.0.10'), '10.96.0.0/16');
  assert.equal(serviceCidrOf('10.97.42.10'), '10.97.42.0/24');
  assert.equal(serviceCidrOf(undefined), '10.96.0.0/16');
  assert.equal(joinCommand({ advertise: '10.0.0.1', port: 6443, nodeMonitorGracePeriod: 40 }), 'kubemu join --apiserver http://10.0.0.1:6443');
  assert.equal(joinCommand({ advertise: '10.0.0.1', port: 6443, token: 'a.b', nodeMonitorGracePeriod: 6 }), 'kubemu join --apiserver http://10.0.0.1:6443 --token a.b --node-monitor-grace-period 6');
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
