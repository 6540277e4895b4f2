// The cluster-wide steps of `docker compose up` (docker-compose.yml), run inside the kubemu image as
// `node /app/launcher/compose.js STEP …` — what `kubemu up` does between starting processes:
//   init     before the apiserver: kubemu0 and the unreachable route for every service CIDR (needs
//            NET_ADMIN), the cluster's Docker network (the pod network; the DNS listens on its gateway), and
//            in <dir>/pki (the shared volume) the cluster PKI as `kubemu up` makes it, etcd's (launcher/pki.ts),
//            the apiservers' encryption key and ServiceAccount signing key, on the first start (kept after);
//   dns      run the cluster DNS on the pod network's gateway (found here, then dns/main runs in this process);
//   setup    once every component is healthy: the kube-dns Service and Endpoints, every node Ready, the
//            DNS ClusterIP served (over TLS, as the admin), then the kubeconfig for the host's kubectl;
//   cleanup  after `docker compose kill` (a normal stop cleans up after itself): the pod containers the
//            kubelets started, the pod network, the ClusterIPs and the unreachable route of the service CIDR.
// The values come from the compose file; compose.test.ts checks they match nodeIdentity/clusterAddresses.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { kubeconfigYaml } from '../client/kubeconfig.ts';
import { intToIp, ipToInt } from '../lib/ipv4.ts';
import { adminTls, ensureClusterPki, ensureEtcdPki, pkiDir } from './pki.ts';
import { ensureServiceNetwork, hasNetAdmin } from '../kube-proxy/public.ts';
import { createKubeDns, waitForClusterIP } from './cluster-dns.ts';
import { ALL_SERVICE_CIDRS, encryptionConfigFile, serviceAccountKeyArgs, waitHttp, waitNodeReady } from './components.ts';
import { ensureClusterNetwork } from './docker-network.ts';
import { removeNodeContainers } from './docker-cleanup.ts';
import { cleanupServiceNetwork } from './service-network.ts';

const say = (m: string) => process.stdout.write(`[kubemu compose] ${m}\n`);

export async function main(argv: string[]): Promise<void> {
  const [step, ...rest] = argv;
  const sep = rest.indexOf('--');
  const { values } = parseArgs({
    args: sep >= 0 ? rest.slice(0, sep) : rest, strict: true,
    options: {
      network: { type: 'string' }, apiserver: { type: 'string' }, 'dns-ip': { type: 'string' }, 'dns-port': { type: 'string' },
      nodes: { type: 'string' }, 'service-cidr': { type: 'string' }, kubeconfig: { type: 'string' }, timeout: { type: 'string', default: '300' },
      dir: { type: 'string' }, 'node-ips': { type: 'string' },
    },
  });
  const need = (k: keyof typeof values): string => {
    const v = values[k];
    if (!v) throw new Error(`${step}: --${k} is required`);
    return v;
  };
  const nodes = () => need('nodes').split(',').filter(Boolean);
  switch (step) {
    case 'init': {
      if (hasNetAdmin()) await ensureServiceNetwork({ cidr: ALL_SERVICE_CIDRS });
      else say('no CAP_NET_ADMIN: ClusterIPs will not be reachable (give this service cap_add: [NET_ADMIN])');
      const net = await ensureClusterNetwork(need('network'));
      say(`pod network ${need('network')}: ${net.subnet}, gateway ${net.gateway}; unreachable route for ${ALL_SERVICE_CIDRS}`);
      // Every component's certificate, etcd's, one encryption key and one token signing key: made here on the first start.
      const dir = need('dir');
      const ips = need('node-ips').split(',');
      const started = Date.now();
      await ensureClusterPki(dir, {
        kubernetesServiceIP: intToIp(ipToInt(need('service-cidr').split('/')[0]) + 1),
        apiserverDNSNames: [],
        nodes: nodes().map((name, i) => ({ name, ip: ips[i] ?? (() => { throw new Error(`init: --node-ips names no address for ${name}`); })() })),
      });
      // The etcd members listen on loopback (network_mode: host): their certificates name it.
      await ensureEtcdPki(dir, { ipAddresses: ['127.0.0.1'] });
      encryptionConfigFile(pkiDir(dir));
      serviceAccountKeyArgs(pkiDir(dir));
      say(`cluster PKI, etcd's, encryption-config.yaml and sa.key in ${pkiDir(dir)} (${Date.now() - started} ms)`);
      return;
    }
    case 'dns': {
      const net = await ensureClusterNetwork(need('network'));
      process.argv = [process.argv[0], 'dns', ...rest.slice(sep + 1), '--listen', `${net.gateway}:${need('dns-port')}`];
      await import('../dns/main.ts');
      return;
    }
    case 'setup': {
      const apiserver = need('apiserver');
      const timeoutMs = Number(values.timeout) * 1000;
      // As the admin (kubernetes-admin in system:masters), verifying the apiserver against the cluster CA.
      const tls = adminTls(need('dir'));
      if (!tls?.cert) throw new Error(`setup: no admin certificate in ${pkiDir(need('dir'))} (made by the init step)`);
      await waitHttp('apiserver', process.pid, `${apiserver}/readyz`, timeoutMs, tls);
      const net = await ensureClusterNetwork(need('network'));
      await createKubeDns(apiserver, need('dns-ip'), { ip: net.gateway, port: Number(need('dns-port')) }, undefined, tls);
      say(`kube-dns ${need('dns-ip')} → ${net.gateway}:${need('dns-port')}`);
      // This process stands in for the kubelet's pid: the kubelets live in their own containers.
      await Promise.all(nodes().map((n) => waitNodeReady(apiserver, n, process.pid, undefined, timeoutMs, undefined, tls)));
      say(`nodes Ready: ${nodes().join(', ')}`);
      if (hasNetAdmin()) {
        await waitForClusterIP(need('dns-ip'), 53, timeoutMs);
        say('ClusterIPs served');
      }
      const file = need('kubeconfig');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}`;
      // A credential (the admin's key, as kind writes it): mode 0600, owned by whoever owns the directory it goes to
      // (this container runs as root; the host's user made $PWD/.kubemu/compose, or Docker did, as root).
      const owner = fs.statSync(path.dirname(file));
      fs.writeFileSync(tmp, kubeconfigYaml({ server: apiserver, name: 'kubemu-compose', ca: tls.ca, clientCertificate: tls.cert, clientKey: tls.key }), { mode: 0o600 });
      fs.chmodSync(tmp, 0o600);
      fs.chownSync(tmp, owner.uid, owner.gid);
      fs.renameSync(tmp, file);
      say(`kubeconfig written: ${file} (on the host: $PWD/.kubemu/compose/kubeconfig)`);
      return;
    }
    case 'cleanup': {
      const removed = await removeNodeContainers(nodes(), need('network'));
      // The image has no iptables (the last step): kube-proxies in userspace mode, the compose file's, write no chains.
      const iptables = (process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, 'iptables-save')));
      await cleanupServiceNetwork(need('service-cidr'), nodes()).catch((err) => { if (iptables) throw err; });
      say(`removed ${removed} pod container(s), the pod network ${need('network')} and the ClusterIPs of ${need('service-cidr')}`);
      return;
    }
    default:
      throw new Error(`usage: compose.js init|dns|setup|cleanup [flags] (got ${JSON.stringify(step)})`);
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`[kubemu compose] ${(err as Error).message}\n`);
  process.exit(1);
});
