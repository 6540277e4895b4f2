// Services with kube-proxy in iptables mode: the kernel forwards, and the rotation over ready pods
// is still exact (one nth-statistic rule per endpoint). Its own `kubemu up` cluster (2 Docker nodes).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import path from 'node:path';
import { nodeIdentity, clusterAddresses } from '../../launcher/components.ts';
import { chainPrefix } from '../../kube-proxy/chain-names.ts';
import { assertRotation, hits, startCluster, until, type KubemuCluster } from '../harness/kubemu-cluster.ts';
import { deployWebApp, podHits, readyBackends, refusedAtOnce, scaleWeb, WEB_APP, type WebService } from '../harness/web-app.ts';

const NAME = `ipt${process.pid % 10000}`;

describe('Services through kube-proxy in iptables mode, real kubectl, real Docker', () => {
  let c: KubemuCluster;
  let web: WebService;

  before(async () => {
    c = await startCluster(NAME, ['--nodes', '2', '--proxy-mode', 'iptables']);
    const file = path.join(c.dir, 'web.yaml');
    fs.writeFileSync(file, WEB_APP);
    web = await deployWebApp(c, file);
  });
  after(() => c?.down());

  test('kube-proxy wrote kernel rules for the cluster and for each node', () => {
    const nat = execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' });
    for (const prefix of [chainPrefix('C', clusterAddresses(NAME).serviceCIDR), chainPrefix('N', nodeIdentity(NAME, 1).nodeName), chainPrefix('N', nodeIdentity(NAME, 2).nodeName)]) {
      assert.match(nat, new RegExp(`^:${prefix}-SERVICES`, 'm'), `chains of ${prefix}`);
    }
    assert.match(nat, new RegExp(`-d ${web.clusterIP.replace(/\./g, '\\.')}/32 .*--dport 80`), 'a rule for the web ClusterIP');
  });

  test('DNS through the kernel path; 30 requests from a pod by name and 30 from the host by ClusterIP rotate exactly', async () => {
    const r = new dns.promises.Resolver({ timeout: 2000, tries: 2 });
    r.setServers([`${clusterAddresses(NAME).dnsIP}:53`]);
    assert.deepEqual(await r.resolve4('web.default.svc.cluster.local'), [web.clusterIP]);
    const pods = await readyBackends(c);
    assertRotation(await podHits(c, 'http://web:80/', 30), pods, 'pod → web');
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), pods, 'host → ClusterIP');
  });

  test('the NodePort of every node and the LoadBalancer address rotate exactly', async () => {
    const pods = await readyBackends(c);
    for (let n = 1; n <= 2; n++) {
      const { nodeIP } = nodeIdentity(NAME, n);
      assertRotation(await hits(`http://${nodeIP}:${web.nodePort}/`, 30), pods, `NodePort on ${nodeIP}`);
    }
    assertRotation(await hits(`http://${web.lbIP}:80/`, 30), pods, 'LoadBalancer address');
  });

  test('/metrics of the kube-proxy serving ClusterIPs counts the connections the kernel forwarded', async () => {
    const leases = JSON.parse(await c.kubectl('get', 'leases', '-n', 'kube-system', '-o', 'json')).items;
    const holder: string = leases.find((l: { metadata: { name: string } }) => l.metadata.name.startsWith('kube-proxy-cluster-ips.')).spec.holderIdentity;
    const leader = c.state().components.find((x) => x.pid === Number(holder.split('_').pop()))!;
    const count = async () => Number(/kubeproxy_service_connections_total\{service="default\/web",port="http",protocol="TCP"\} (\d+)/.exec(await (await fetch(`${leader.url}/metrics`)).text())?.[1] ?? 0);
    const before = await count();
    await hits(`http://${web.clusterIP}:80/`, 9);
    // Read at each sync (every 5 s at the latest).
    await until('the 9 connections counted', async () => (await count()) - before >= 9, 30_000);
  });

  test('scaled to 0 the ClusterIP refuses at once; scaled back, it rotates over the new pods', async () => {
    const url = `http://${web.clusterIP}:80/`;
    await scaleWeb(c, 0, url);
    const rejectRule = new RegExp(`-d ${web.clusterIP.replace(/\./g, '\\.')}/32 .*--dport 80 .*-j REJECT`);
    await refusedAtOnce(url, async () => rejectRule.test(execFileSync('iptables-save', ['-t', 'filter'], { encoding: 'utf8' })));
    const pods = await scaleWeb(c, 3, url);
    assertRotation(await hits(`http://${web.clusterIP}:80/`, 30), pods, 'scaled back');
  });
});
