// The cluster DNS's records on a `kubemu up` cluster with Docker pods, driven by the real kubectl:
// examples/dns-records.yaml (a headless Service and two pods with hostname/subdomain), queried from the
// host through kube-dns's ClusterIP and from inside a pod with busybox's nslookup. Names outside the
// cluster go to a fake upstream resolver this test runs on 127.0.0.1 (--dns-upstream), never further.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import path from 'node:path';
import { clusterAddresses } from '../../launcher/components.ts';
import { DnsServer } from '../../dns/server.ts';
import { aRecord, RCode, RRType } from '../../dns/wire.ts';
import { silentLogger } from '../../lib/logger.ts';
import { ROOT, startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';

const NAME = 'dnsrec';
const NS = 'dns-demo';
const fqdn = (n: string) => `${n}.${NS}.svc.cluster.local`;

describe('cluster DNS records (Docker pods, real kubectl)', () => {
  let c: KubemuCluster;
  let upstream: DnsServer;
  let asked = 0;
  const ips = new Map<string, string>();
  const resolver = () => {
    const r = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
    r.setServers([`${clusterAddresses(NAME).dnsIP}:53`]);
    return r;
  };

  before(async () => {
    upstream = new DnsServer({
      host: '127.0.0.1', port: 0, domain: 'example.com', logger: silentLogger(),
      lookup: (q) => {
        asked++;
        if (q.name.toLowerCase() !== 'example.com') return { rcode: RCode.NXDOMAIN };
        return { rcode: RCode.NOERROR, answers: q.type === RRType.A ? [aRecord(q.name, '192.0.2.10', 60)] : [] }; // AAAA: no data
      },
    });
    const { udpPort } = await upstream.listen();
    c = await startCluster(NAME, ['--nodes', '1', '--dns-upstream', `127.0.0.1:${udpPort}`]);
    await c.kubectl('apply', '-f', path.join(ROOT, 'examples/dns-records.yaml'));
    await c.kubectl('run', 'client', '-n', NS, '--image', 'kubemu/busybox:1', '--restart', 'Never', '--', 'sleep', '3600');
    for (const p of ['peer-a', 'peer-b', 'client']) {
      const pod = await until(`${p} running`, async () => {
        const x = JSON.parse(await c.kubectl('get', 'pod', '-n', NS, p, '-o', 'json'));
        return x.status.phase === 'Running' && x.status.podIP ? x : undefined;
      }, 120_000);
      ips.set(p, pod.status.podIP);
    }
  });
  after(async () => { c?.down(); await upstream?.close(); });

  test('hostname.subdomain names, one SRV per pod of the headless Service, pod A records (from the host)', async () => {
    const r = resolver();
    assert.deepEqual(await until('peer-a.peers resolves', () => r.resolve4(fqdn('peer-a.peers')), 60_000), [ips.get('peer-a')]);
    assert.deepEqual(await r.resolve4(fqdn('peer-b.peers')), [ips.get('peer-b')]);
    assert.deepEqual((await r.resolve4(fqdn('peers'))).sort(), [ips.get('peer-a'), ips.get('peer-b')].sort());
    const srv = (await r.resolveSrv(`_http._tcp.${fqdn('peers')}`)).map((s) => `${s.name}:${s.port}`).sort();
    assert.deepEqual(srv, [`${fqdn('peer-a.peers')}:8080`, `${fqdn('peer-b.peers')}:8080`]);
    const dashed = ips.get('client')!.replaceAll('.', '-');
    assert.deepEqual(await r.resolve4(`${dashed}.${NS}.pod.cluster.local`), [ips.get('client')]);
  });

  test('from inside a pod: the peers by name, and a name outside the cluster through the upstream', async () => {
    const out = await c.kubectl('exec', '-n', NS, 'client', '--', 'nslookup', fqdn('peer-b.peers'));
    assert.match(out, new RegExp(`Address:\\s+${ips.get('peer-b')!.replaceAll('.', '\\.')}`));
    const before = asked;
    const ext = await c.kubectl('exec', '-n', NS, 'client', '--', 'nslookup', 'example.com');
    assert.match(ext, /Address:\s+192\.0\.2\.10/);
    assert.ok(asked > before, 'the fake upstream was asked');
    await assert.rejects(c.kubectl('exec', '-n', NS, 'client', '--', 'nslookup', 'nope.example.com'));
  });
});
