import { test } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { parseCli } from './args.ts';
import { kubeconfigYaml, readKubeconfig } from '../client/kubeconfig.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('kubemu flags: defaults, values, and clear errors (exit code 2)', () => {
  const d = parseCli([]);
  assert.deepEqual([d.command, d.dir, d.port, d.grpcPort, d.nodes, d.runtime], ['up', '.kubemu', 6443, 6444, 2, 'docker']);
  const s = parseCli(['down', '--dir', '/tmp/x', '--purge']);
  assert.deepEqual([s.command, s.dir, s.purge], ['down', '/tmp/x', true]);
  assert.equal(parseCli(['--help']).command, 'help');
  assert.deepEqual([d.dnsUpstream, parseCli(['up', '--dns-upstream', 'none']).dnsUpstream, parseCli(['up', '--dns-upstream', '127.0.0.1:5353,[::1]:53']).dnsUpstream],
    ['', 'none', '127.0.0.1:5353,[::1]:53']);
  for (const bad of [['frobnicate'], ['up', '--port', '0'], ['up', '--port', 'abc'], ['up', '--runtime', 'podman'], ['up', '--nodes', '-1'], ['up', '--bogus'], ['up', 'extra'], ['up', '--dns-upstream', 'dns.google']]) {
    assert.throws(() => parseCli(bad), (err: any) => err.exitCode === 2 && /usage|--|unknown|unexpected/.test(err.message), bad.join(' '));
  }
});

test('fault commands: their operands, -n and --signal, and usage errors (exit code 2)', () => {
  const k = parseCli(['kill', 'scheduler', '--dir', '/tmp/c']);
  assert.deepEqual([k.command, k.operands, k.dir, k.signal], ['kill', ['scheduler'], '/tmp/c', 'SIGKILL']);
  assert.equal(parseCli(['kill', 'etcd', '--signal', 'SIGTERM']).signal, 'SIGTERM');
  for (const cmd of ['restart', 'stop-node', 'start-node', 'partition', 'heal']) assert.deepEqual(parseCli([cmd, 'x']).operands, ['x']);
  assert.deepEqual([parseCli(['kill', 'scheduler']).noRestart, parseCli(['kill', '--no-restart', 'scheduler']).noRestart], [false, true]);
  const p = parseCli(['pause', 'web-1', 'app', '-n', 'shop']);
  assert.deepEqual([p.command, p.operands, p.namespace], ['pause', ['web-1', 'app'], 'shop']);
  assert.equal(parseCli(['resume', 'web-1', 'app']).namespace, 'default');
  for (const bad of [['kill'], ['partition'], ['pause', 'web-1'], ['heal', 'a', 'b'], ['kill', 'x', '--signal', 'SIGHUP'], ['status', 'x']]) {
    assert.throws(() => parseCli(bad), (err: any) => err.exitCode === 2 && /missing|unexpected|--signal/.test(err.message), bad.join(' '));
  }
  assert.match((() => { try { parseCli(['pause', 'p']); } catch (err) { return (err as Error).message; } return ''; })(), /^pause: missing CONTAINER \(usage: kubemu pause POD CONTAINER \[--dir DIR\]\)/);
});

test('the kubeconfig kubemu writes is read back by kubemu and is valid for kubectl', () => {
  const text = kubeconfigYaml({ server: 'http://127.0.0.1:6443', token: 't0k' });
  const doc = YAML.parse(text);
  assert.equal(doc['current-context'], 'kubemu');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-kc-')), 'kubeconfig');
  fs.writeFileSync(file, text);
  assert.deepEqual(readKubeconfig(file), { server: 'http://127.0.0.1:6443', token: 't0k', namespace: undefined, context: 'kubemu' });
  assert.throws(() => readKubeconfig(file, 'other'), /context "other" not found/);
  fs.rmSync(path.dirname(file), { recursive: true });
});

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

test('images load: operands and repeated --docker-host are parsed', () => {
  const a = parseCli(['images', 'load', 'app:1', 'db:2', '--docker-host', 'tcp://10.0.0.2:2375', '--docker-host', 'ssh://me@lab2']);
  assert.deepEqual([a.command, a.operands, a.dockerHosts], ['images', ['load', 'app:1', 'db:2'], ['tcp://10.0.0.2:2375', 'ssh://me@lab2']]);
  assert.throws(() => parseCli(['images']), /missing load IMAGE/);
});
