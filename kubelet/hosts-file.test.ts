// The pod's hostname and its kubelet-managed /etc/hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostsFileContent, hostsFileMount, podHostname, sandboxHostname } from './hosts-file.ts';

const pod = (spec: Record<string, unknown> = {}, name = 'web-0') => ({ metadata: { name, namespace: 'shop', uid: 'u1' }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } });

test('hostname: spec.hostname or the pod name cut to 63 characters; subdomain gives the domain; setHostnameAsFQDN the FQDN', () => {
  assert.deepEqual(podHostname(pod() as any), { hostname: 'web-0', domain: '' });
  assert.deepEqual(podHostname(pod({ hostname: 'db', subdomain: 'backend' }) as any), { hostname: 'db', domain: 'backend.shop.svc.cluster.local' });
  assert.equal(podHostname(pod({}, `${'a'.repeat(62)}-b`) as any).hostname, 'a'.repeat(62));
  assert.equal(sandboxHostname(pod({ hostname: 'db', subdomain: 'backend', setHostnameAsFQDN: true }) as any), 'db.backend.shop.svc.cluster.local');
  assert.equal(sandboxHostname(pod({ hostname: 'db', setHostnameAsFQDN: true }) as any), 'db');
  assert.equal(sandboxHostname(pod({ hostNetwork: true }) as any), '');
  assert.throws(() => sandboxHostname(pod({ hostname: 'h'.repeat(40), subdomain: 'backend', setHostnameAsFQDN: true }) as any), /FQDN h+\.backend\.shop\.svc\.cluster\.local is too long \(64 characters is the max, 71 characters requested\)/);
});

test('the managed hosts file: localhost lines, the pod\'s IP with its FQDN, then the host aliases', () => {
  const text = hostsFileContent(pod({ hostname: 'db', subdomain: 'backend', hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }] }) as any, ['10.244.0.7']);
  assert.equal(text, [
    '# Kubernetes-managed hosts file.', '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix', 'fe00::1\tip6-allnodes', 'fe00::2\tip6-allrouters', '10.244.0.7\tdb.backend.shop.svc.cluster.local\tdb', '',
    '# Entries added by HostAliases.', '10.1.2.3\tfoo.local', '10.1.2.3\tbar.local', ''].join('\n'));
  assert.match(hostsFileContent(pod() as any, ['10.244.0.8']), /\n10\.244\.0\.8\tweb-0\n$/);
});

test('on the node\'s network: the node\'s hosts file plus the aliases; the mount is skipped when the container mounts /etc/hosts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hosts-'));
  fs.writeFileSync(path.join(dir, 'hosts'), '127.0.0.1 localhost\n');
  const text = hostsFileContent(pod({ hostNetwork: true, hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo'] }] }) as any, ['127.0.0.1'], undefined, path.join(dir, 'hosts'));
  assert.equal(text, '# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo\n');
  const p = pod() as any;
  const m = hostsFileMount(dir, p, p.spec.containers[0], ['10.244.0.9'])!;
  assert.equal(m.containerPath, '/etc/hosts');
  assert.match(fs.readFileSync(m.hostPath, 'utf8'), /10\.244\.0\.9\tweb-0/);
  assert.equal(hostsFileMount(dir, p, { name: 'c', volumeMounts: [{ name: 'v', mountPath: '/etc/hosts' }] }, ['10.244.0.9']), undefined);
  assert.equal(hostsFileMount(dir, p, p.spec.containers[0], []), undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});
