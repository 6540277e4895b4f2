// Security and host settings with the real kubectl and Docker: runAsUser/runAsGroup/supplementalGroups, runAsNonRoot
// refusing a root image with Kubernetes' message, readOnlyRootFilesystem, fsGroup volume ownership, capabilities and
// allowPrivilegeEscalation, hostPort on the node's IP (and the scheduler's port-conflict filter), hostNetwork,
// shareProcessNamespace, sysctls (safe and forbidden), hostname/subdomain/setHostnameAsFQDN, hostAliases, and
// dnsPolicy None with dnsConfig.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerKubelet, run, until, type DockerKubelet } from '../harness/docker-kubelet.ts';
import { createApiClient } from '../../client/index.ts';
import { Scheduler } from '../../scheduler/scheduler.ts';
import { freePort } from '../../lib/free-port.ts';

const PODS = { group: '', resource: 'pods' };
type Obj = Record<string, any>;
const BUSYBOX = 'kubemu/busybox:1';
const sleeper = (name: string, extra: Obj = {}) => ({ name, image: BUSYBOX, command: ['sleep', '3600'], ...extra });

describe('security and host settings on the Docker runtime', () => {
  let k: DockerKubelet;
  const pod = (name: string, spec: Obj, metadata: Obj = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', ...metadata },
    spec: { nodeName: k.node, terminationGracePeriodSeconds: 1, ...spec } });
  const create = (obj: Obj) => k.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const get = (name: string) => k.client.get(PODS, 'default', name);
  const status = (name: string, pred: (p: Obj) => unknown, ms = 40_000) =>
    until(name, async () => { const p = await get(name); return pred(p) ? p : undefined; }, ms);
  const running = (name: string) => status(name, (p) => p.status?.phase === 'Running' && p.status.containerStatuses?.every((c: Obj) => c.state?.running));
  const exec = (name: string, cmd: string[], container?: string) => k.kubectl(['exec', name, ...(container ? ['-c', container] : []), '--', ...cmd]);

  const cleanups: Array<() => unknown> = [];
  before(async () => { k = await dockerKubelet({ after: (fn) => cleanups.push(fn) }, { name: 'podsec' }); });
  after(async () => { for (const fn of cleanups) await fn(); });

  test('runAsUser, runAsGroup and supplementalGroups: kubectl exec … id shows them; a container\'s own runAsUser wins', async () => {
    await create(pod('runas', { securityContext: { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000] },
      containers: [sleeper('a'), sleeper('b', { securityContext: { runAsUser: 1001 } })] }));
    await running('runas');
    assert.equal(await exec('runas', ['id', '-u'], 'a'), '1000\n');
    assert.equal(await exec('runas', ['id', '-g'], 'a'), '3000\n');
    assert.deepEqual((await exec('runas', ['id', '-G'], 'a')).trim().split(' ').sort(), ['3000', '4000']);
    assert.equal(await exec('runas', ['id', '-u'], 'b'), '1001\n');
    await create(pod('group-only', { securityContext: { runAsGroup: 3000 }, containers: [sleeper('c')] }));
    await running('group-only');
    assert.equal(await exec('group-only', ['id']), 'uid=0 gid=3000 groups=3000\n'); // the image's user (root), the pod's group
  });

  test('runAsNonRoot with a root image: CreateContainerConfigError with Kubernetes\' message; with runAsUser it runs', async () => {
    await create(pod('nonroot', { securityContext: { runAsNonRoot: true }, containers: [sleeper('c')] }));
    const p = await status('nonroot', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
    const waiting = p.status.containerStatuses[0].state.waiting;
    assert.equal(waiting.message, `container has runAsNonRoot and image will run as root (pod: "nonroot_default(${p.metadata.uid})", container: c)`);
    assert.match(await k.kubectl(['get', 'pod', 'nonroot']), /nonroot\s+0\/1\s+CreateContainerConfigError/);
    const events = JSON.parse(await k.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=nonroot,reason=Failed', '-o', 'json'])).items as Obj[];
    assert.ok(events.some((e) => e.type === 'Warning' && e.message === `Error: ${waiting.message}`), JSON.stringify(events.map((e) => e.message)));
    assert.deepEqual(await k.dockerIds(`io.kubernetes.pod.uid=${p.metadata.uid}`).then((ids) => ids.length), 1); // only the sandbox

    await create(pod('nonroot-ok', { securityContext: { runAsNonRoot: true, runAsUser: 1000 }, containers: [sleeper('c')] }));
    await running('nonroot-ok');
    assert.equal(await exec('nonroot-ok', ['id', '-u']), '1000\n');
  });

  test('readOnlyRootFilesystem refuses a write ("Read-only file system"); a volume stays writable', async () => {
    await create(pod('readonly', { volumes: [{ name: 'scratch', emptyDir: {} }],
      containers: [sleeper('c', { securityContext: { readOnlyRootFilesystem: true }, volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] })] }));
    await running('readonly');
    await assert.rejects(exec('readonly', ['touch', '/x']), (err: Obj) => /Read-only file system/.test(err.stderr));
    await exec('readonly', ['touch', '/scratch/x']);
  });

  test('fsGroup: emptyDir and configMap volumes are group-owned by it (setgid), new files inherit it, containers get the group', async () => {
    await k.kubectl(['create', 'configmap', 'fsg-cm', '--from-literal=k=v']);
    await create(pod('fsgroup', { securityContext: { runAsUser: 1000, fsGroup: 2000 },
      volumes: [{ name: 'data', emptyDir: {} }, { name: 'cfg', configMap: { name: 'fsg-cm' } }],
      containers: [sleeper('c', { volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'cfg', mountPath: '/cfg' }] })] }));
    await running('fsgroup');
    assert.equal(await exec('fsgroup', ['stat', '-c', '%g %a', '/data']), '2000 2777\n');
    await exec('fsgroup', ['sh', '-c', 'echo hi > /data/f']);
    assert.equal(await exec('fsgroup', ['stat', '-c', '%u %g', '/data/f']), '1000 2000\n');
    assert.equal(await exec('fsgroup', ['stat', '-L', '-c', '%g', '/cfg/k']), '2000\n');
    assert.ok((await exec('fsgroup', ['id', '-G'])).trim().split(' ').includes('2000'));
  });

  test('capabilities drop ALL / add NET_BIND_SERVICE, and allowPrivilegeEscalation false sets no_new_privs', async () => {
    await create(pod('caps', { containers: [sleeper('c', { securityContext: { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, allowPrivilegeEscalation: false } }),
      sleeper('plain')] }));
    await running('caps');
    const st = await exec('caps', ['grep', '-E', '^(CapEff|NoNewPrivs)', '/proc/self/status'], 'c');
    assert.match(st, /CapEff:\s+0000000000000400/);
    assert.match(st, /NoNewPrivs:\s+1/);
    assert.match(await exec('caps', ['grep', '^NoNewPrivs', '/proc/self/status'], 'plain'), /NoNewPrivs:\s+0/);
  });

  const withScheduler = async (fn: () => Promise<void>) => {
    const stop = new AbortController();
    const client = createApiClient({ transport: 'grpc', server: k.api.grpcAddress });
    const scheduler = new Scheduler({ client, queue: { initialBackoffMs: 100, maxBackoffMs: 500, unschedulableFlushMs: 2000 } });
    const done = scheduler.run(stop.signal);
    try { await fn(); } finally { stop.abort(); await done; await client.close(); }
  };

  test('examples/pod-security.yaml does what its header says', () => withScheduler(async () => {
    await k.kubectl(['apply', '-f', path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/pod-security.yaml')]);
    await running('restricted');
    assert.equal(await exec('restricted', ['id']), 'uid=1000 gid=3000 groups=2000,3000\n');
    await assert.rejects(exec('restricted', ['touch', '/x']), (err: Obj) => /touch: \/x: Read-only file system/.test(err.stderr));
    assert.equal(await exec('restricted', ['stat', '-c', '%g %a', '/data']), '2000 2777\n');
    assert.match(await exec('restricted', ['grep', 'Cap', '/proc/self/status']), /CapBnd:\s+0000000000000400/);
    await status('root-refused', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
    const named = await running('named');
    assert.match(await exec('named', ['cat', '/etc/hosts'], 'main'), new RegExp(`${named.status.podIP.replace(/\./g, '\\.')}\tdb\.backend\.default\.svc\.cluster\.local\tdb\n\n# Entries added by HostAliases\.\n10\.1\.2\.3\tfoo\.local`));
    assert.equal(await exec('named', ['cat', '/etc/resolv.conf'], 'main'), 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:2\n');
    assert.match(await exec('named', ['ps'], 'main'), /sleep 7200/);
    const web = await running('web-on-node');
    const body = await until('hostPort 18080', async () => fetch(`http://${web.status.hostIP}:18080/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => undefined));
    assert.equal(body.trim(), 'web-on-node');
    await k.kubectl(['delete', '-f', path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/pod-security.yaml'), '--wait=false']);
  }));

  test('procMount Unmasked: /proc has no masked or read-only paths; Default masks Kubernetes\' list', async () => {
    await create(pod('procmount', { containers: [sleeper('unmasked', { securityContext: { procMount: 'Unmasked' } }), sleeper('default')] }));
    await running('procmount');
    const procMounts = async (c: string) => (await exec('procmount', ['cat', '/proc/mounts'], c)).split('\n').filter((l) => / \/proc\/(kcore|keys|sys|bus|fs|irq|sysrq-trigger|timer_list|acpi|scsi) /.test(l)).length;
    assert.equal(await procMounts('unmasked'), 0);
    assert.ok(await procMounts('default') > 0);
  });

  test('hostPort answers on the node\'s IP; a second pod wanting the same port stays Pending (the scheduler\'s NodePorts filter)', async () => {
    const port = await freePort();
    const stop = new AbortController();
    const client = createApiClient({ transport: 'grpc', server: k.api.grpcAddress });
    const scheduler = new Scheduler({ client, queue: { initialBackoffMs: 100, maxBackoffMs: 500, unschedulableFlushMs: 2000 } });
    const done = scheduler.run(stop.signal);
    try {
      const web = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image: 'kubemu/hello:1', ports: [{ containerPort: 8080, hostPort: port }] }] } });
      await create(web('hostport'));
      const p = await running('hostport');
      assert.equal(p.spec.nodeName, k.node);
      const body = await until('the hostPort answers', async () =>
        fetch(`http://${p.status.hostIP}:${port}/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => undefined));
      assert.equal(body.trim(), 'hostport');
      const [sandbox] = await k.docker.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': p.metadata.uid! } });
      const bindings = JSON.parse((await run('docker', ['inspect', '-f', '{{json .HostConfig.PortBindings}}', sandbox!.id])).stdout);
      assert.deepEqual(bindings['8080/tcp'], [{ HostIp: p.status.hostIP, HostPort: String(port) }]);

      await create(web('hostport-2'));
      const cond = await until('hostport-2 unschedulable', async () =>
        (await get('hostport-2')).status?.conditions?.find((c: Obj) => c.type === 'PodScheduled' && c.status === 'False'));
      assert.match(cond.message, /1 node\(s\) didn't have free ports for the requested pod ports/);
    } finally {
      stop.abort();
      await done;
      await client.close();
    }
  });

  test('hostNetwork: the pod\'s IP is the node\'s, it serves on the node\'s network with the node\'s hostname and /etc/hosts', async () => {
    const port = await freePort();
    await create(pod('hostnet', { hostNetwork: true, containers: [{ name: 'c', image: BUSYBOX, command: ['sh', '-c', `mkdir -p /w && echo on-the-node > /w/index.html && httpd -f -p 127.0.0.1:${port} -h /w`] }] }));
    const p = await running('hostnet');
    assert.equal(p.status.podIP, p.status.hostIP);
    assert.equal(p.spec.containers[0].ports, undefined);
    const body = await until('the host-network pod answers', async () =>
      fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => undefined));
    assert.equal(body.trim(), 'on-the-node');
    assert.equal((await exec('hostnet', ['hostname'])).trim(), os.hostname());
    assert.match(await exec('hostnet', ['cat', '/etc/hosts']), /^# Kubernetes-managed hosts file \(host network\)\.\n/);
  });

  test('seccompProfile: unset is Unconfined, RuntimeDefault is Docker\'s profile, Localhost a profile file under the kubelet\'s root', async () => {
    fs.mkdirSync(path.join(k.rootDir, 'seccomp'), { recursive: true });
    fs.writeFileSync(path.join(k.rootDir, 'seccomp', 'no-mkdir.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
    await create(pod('seccomp', { securityContext: { seccompProfile: { type: 'RuntimeDefault' } }, containers: [sleeper('default'), sleeper('none', { securityContext: { seccompProfile: { type: 'Unconfined' } } }),
      sleeper('file', { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'no-mkdir.json' } } })] }));
    await create(pod('seccomp-unset', { containers: [sleeper('c')] }));
    await running('seccomp');
    await running('seccomp-unset');
    const mode = async (p: string, c?: string) => (await exec(p, ['grep', '^Seccomp:', '/proc/self/status'], c)).split(/\s+/)[1];
    assert.equal(await mode('seccomp', 'default'), '2');
    assert.equal(await mode('seccomp', 'none'), '0');
    assert.equal(await mode('seccomp-unset'), '0');
    await assert.rejects(exec('seccomp', ['mkdir', '/tmp/d'], 'file'), (err: Obj) => /Operation not permitted/.test(err.stderr));
    await exec('seccomp', ['mkdir', '/tmp/d'], 'none');
    await create(pod('seccomp-missing', { containers: [sleeper('c', { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'nope.json' } } })] }));
    const p = await status('seccomp-missing', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerError');
    assert.match(p.status.containerStatuses[0].state.waiting.message, /cannot load seccomp profile ".*\/seccomp\/nope.json"/);
  });

  test('hostPID and hostIPC: the containers are in the node\'s PID and IPC namespaces; otherwise in their own / the pod\'s', async () => {
    const host = (ns: string) => fs.readlinkSync(`/proc/self/ns/${ns}`);
    await create(pod('host-ns', { hostPID: true, hostIPC: true, containers: [sleeper('c')] }));
    await create(pod('own-ns', { containers: [sleeper('a'), sleeper('b')] }));
    await running('host-ns');
    await running('own-ns');
    const ns = async (p: string, kind: string, c?: string) => (await exec(p, ['readlink', `/proc/self/ns/${kind}`], c)).trim();
    assert.equal(await ns('host-ns', 'pid'), host('pid'));
    assert.equal(await ns('host-ns', 'ipc'), host('ipc'));
    assert.notEqual(await ns('own-ns', 'pid', 'a'), host('pid'));
    assert.notEqual(await ns('own-ns', 'pid', 'a'), await ns('own-ns', 'pid', 'b'));
    assert.notEqual(await ns('own-ns', 'ipc', 'a'), host('ipc'));
    assert.equal(await ns('own-ns', 'ipc', 'a'), await ns('own-ns', 'ipc', 'b')); // the pod's IPC namespace, shared
  });

  test('shareProcessNamespace: the containers see each other\'s processes; without it they do not', async () => {
    await create(pod('shared-pid', { shareProcessNamespace: true, containers: [sleeper('a'), { name: 'b', image: BUSYBOX, command: ['sleep', '7777'] }] }));
    await running('shared-pid');
    const ps = await exec('shared-pid', ['ps', '-o', 'pid,args'], 'a');
    assert.match(ps, /sleep 7777/);
    assert.match(ps, /^\s*1\s+(\{pause\} )?\/bin\/sh \/bin\/pause/m);
    await create(pod('own-pid', { containers: [sleeper('a'), { name: 'b', image: BUSYBOX, command: ['sleep', '7777'] }] }));
    await running('own-pid');
    assert.doesNotMatch(await exec('own-pid', ['ps', '-o', 'pid,args'], 'a'), /sleep 7777/);
  });

  test('sysctls: a safe one is set in the pod\'s namespaces; another rejects the pod with SysctlForbidden', async () => {
    await create(pod('sysctl', { securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '20000 30000' }] }, containers: [sleeper('c')] }));
    await running('sysctl');
    assert.equal(await exec('sysctl', ['cat', '/proc/sys/net/ipv4/ip_local_port_range']), '20000\t30000\n');
    await create(pod('sysctl-bad', { securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '65536' }] }, containers: [sleeper('c')] }));
    const bad = await status('sysctl-bad', (x) => x.status?.phase === 'Failed');
    assert.equal(bad.status.reason, 'SysctlForbidden');
    assert.equal(bad.status.message, 'Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted');
  });

  test('hostname, subdomain and hostAliases: the hostname, the FQDN and the aliases in the kubelet-managed /etc/hosts', async () => {
    await create(pod('aliases', { hostname: 'db', subdomain: 'backend', hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }], containers: [sleeper('c')] }));
    const p = await running('aliases');
    assert.equal(await exec('aliases', ['hostname']), 'db\n');
    assert.equal(await exec('aliases', ['hostname', '-f']), 'db.backend.default.svc.cluster.local\n');
    const hosts = await exec('aliases', ['cat', '/etc/hosts']);
    assert.match(hosts, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
    assert.ok(hosts.includes(`\n${p.status.podIP}\tdb.backend.default.svc.cluster.local\tdb\n`), hosts);
    assert.ok(hosts.endsWith('\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\n10.1.2.3\tbar.local\n'), hosts);
    await create(pod('fqdn', { hostname: 'web', subdomain: 'front', setHostnameAsFQDN: true, containers: [sleeper('c')] }));
    await running('fqdn');
    assert.equal(await exec('fqdn', ['hostname']), 'web.front.default.svc.cluster.local\n');
  });

  test('dnsPolicy None with dnsConfig: resolv.conf holds exactly the pod\'s nameservers, searches and options', async () => {
    await create(pod('dns-none', { dnsPolicy: 'None', dnsConfig: { nameservers: ['10.1.2.53'], searches: ['lab.local', 'svc.lab.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
      containers: [sleeper('c')] }));
    await running('dns-none');
    const conf = (await exec('dns-none', ['cat', '/etc/resolv.conf'])).split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(conf, ['search lab.local svc.lab.local', 'nameserver 10.1.2.53', 'options ndots:2 edns0']);
  });
});
