// The cluster-wide steps of `docker compose up` (docker-compose.yml), run inside the kubemu image as
// `node /app/launcher/compose.js STEP …` — what `kubemu up` does between starting processes:
//   init     before the apiserver: kubemu0 and the unreachable route for every service CIDR (needs
//            NET_ADMIN), the cluster's Docker network (the pod network; the DNS listens on its gateway), and
//            the apiservers' encryption key and ServiceAccount signing key on the first start;
//   dns      run the cluster DNS on the pod network's gateway (found here, then dns/main runs in this process);
//   setup    once every component is healthy: the kube-dns Service and Endpoints, every node Ready, the
//            DNS ClusterIP served, then the kubeconfig for the host's kubectl;
//   cleanup  after `docker compose kill` (a normal stop cleans up after itself): the pod containers the
//            kubelets started, the pod network, the ClusterIPs and the unreachable route of the service CIDR.
// The values come from the compose file; compose.test.ts checks they match nodeIdentity/clusterAddresses.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { kubeconfigYaml } from '../client/kubeconfig.ts';
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
      'pki-dir': { type: 'string' },
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
      // Both apiservers read one encryption key and one token signing key, made here on the first start.
      const pki = values['pki-dir'];
      if (pki) {
        encryptionConfigFile(pki);
        serviceAccountKeyArgs(pki);
        say(`keys in ${pki}: encryption-config.yaml, sa.key, sa.pub`);
      }
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
      await waitHttp('apiserver', process.pid, `${apiserver}/readyz`, timeoutMs);
      const net = await ensureClusterNetwork(need('network'));
      await createKubeDns(apiserver, need('dns-ip'), { ip: net.gateway, port: Number(need('dns-port')) });
      say(`kube-dns ${need('dns-ip')} → ${net.gateway}:${need('dns-port')}`);
      // This process stands in for the kubelet's pid: the kubelets live in their own containers.
      await Promise.all(nodes().map((n) => waitNodeReady(apiserver, n, process.pid, undefined, timeoutMs)));
      say(`nodes Ready: ${nodes().join(', ')}`);
      if (hasNetAdmin()) {
        await waitForClusterIP(need('dns-ip'), 53, timeoutMs);
        say('ClusterIPs served');
      }
      const file = need('kubeconfig');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}`;
      fs.writeFileSync(tmp, kubeconfigYaml({ server: apiserver, name: 'kubemu-compose' }), { mode: 0o644 });
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
