// `kubemu up` and `down`, for the CLI and the Cluster library. `up` starts the cluster's supervisor first and every component
// through it (launcher/supervisor.ts: a component that exits is started again); `down` stops the supervisor
// first, so nothing is restarted while the cluster is taken down.
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { kubeconfigYaml } from '../client/kubeconfig.ts';
import { intToIp, ipToInt } from '../lib/ipv4.ts';
import { adminTls, caCertHash, ensureClusterPki } from './pki.ts';
import { ETCD_MISSING, etcdBinary } from '../lib/etcd-process.ts';
import { advertiseAddressOf, ensureBootstrapToken, publishBootstrapToken, ensureJoinTokens, isLoopback, joinCommand } from './join.ts';
import { ALL_SERVICE_CIDRS, apiHost, apiserverUrl, clusterAddresses, startApiServerComponent, startControllerManagerComponent, startDnsComponent, startEtcdComponent, startKubeletComponent,
  startKubeProxyComponent, startSchedulerComponent, nodeIdentity, FAKE_POD_CIDRS, type Started, type UpOptions } from './components.ts';
import { ensureClusterNetwork } from './docker-network.ts';
import { createKubeDns, waitForClusterIP } from './cluster-dns.ts';
import { cleanupServiceNetwork } from './service-network.ts';
import { ensureServiceNetwork, guardUnroutedRange, hasNetAdmin } from '../kube-proxy/public.ts';
import { removeNodeContainers } from './docker-cleanup.ts';
import { podNetworkGateway, releaseOverlayGateway } from './overlay-gateway.ts';
import { removePartitionCgroups, removePartitionRules } from './partition.ts';
import { stopProcess } from './processes.ts';
import { isRunning, readState, readSupervisorFile, statePath, supervisorPath, tailFile, writeState, type ClusterState, type ComponentState } from './state.ts';
import { runningSupervisor, startSupervisor } from './supervisor-client.ts';
import { defaultOutput, UserError, type Output } from './output.ts';

const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false)).listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** Which wave a component stops in: the nodes' parts first, then the controllers, the apiserver, etcd last. */
const stopWave = (name: string): number =>
  name.startsWith('kube-proxy') || name === 'dns' ? 0 : name.startsWith('kubelet') ? 1 : name === 'apiserver' ? 3 : name === 'etcd' ? 4 : 2;

/**
 * Stop processes in waves (all of a wave at once: SIGTERM, then SIGKILL after a grace period), so
 * nothing outlives what it depends on; report them in reverse start order.
 */
async function stopAll(components: ComponentState[], out: Output, graceMs = 5000): Promise<void> {
  const stopOne = async (c: ComponentState): Promise<boolean> => {
    if (!isRunning(c)) return false;
    await stopProcess(c, 'SIGTERM', graceMs).catch((err) => out(`warning: ${(err as Error).message}`));
    return true;
  };
  const ordered = [...components].reverse();
  for (let wave = 0; wave <= 4; wave++) {
    const these = ordered.filter((c) => stopWave(c.name) === wave);
    const stopped = await Promise.all(these.map(stopOne));
    these.forEach((c, i) => { if (stopped[i]) out(`stopped ${c.name} (pid ${c.pid})`); });
  }
}

/** The supervisor first (nothing is restarted from then on), then the components with the pids they have now. */
async function stopSupervised(dir: string, components: ComponentState[], out: Output): Promise<void> {
  const sup = runningSupervisor(dir);
  if (sup) {
    await sup.stop().catch((err) => out(`warning: ${(err as Error).message}`));
    out(`stopped the supervisor (pid ${sup.pid})`);
  }
  const live = readSupervisorFile(dir)?.components ?? {};
  await stopAll(components.map((c) => ({ ...c, pid: live[c.name]?.pid ?? c.pid })), out);
  fs.rmSync(supervisorPath(dir), { force: true });
  fs.rmSync(path.join(dir, 'supervisor-token'), { force: true }); // kubemu join's; written again by the next join
}

export async function up(opts: UpOptions & { nodes: number; runtime: string; controlPlaneReplicas: number; advertiseAddress?: string; tokenAuth?: boolean }, say: Output = defaultOutput): Promise<void> {
  const dir = path.resolve(opts.dir);
  const existing = readState(dir);
  if ((existing && existing.components.some((c) => isRunning(c))) || runningSupervisor(dir)) {
    throw new UserError(`a cluster is already running from ${dir} (apiserver ${existing?.apiserver ?? 'not started'}). Stop it first: kubemu down --dir ${opts.dir}`);
  }
  if (!etcdBinary()) throw new UserError(ETCD_MISSING);
  if (opts.runtime === 'docker' && opts.nodes > 0 && !fs.existsSync('/var/run/docker.sock')) {
    throw new UserError('the Docker engine is not running (no /var/run/docker.sock). On Debian/Ubuntu: apt-get install -y docker.io and start dockerd (npm start does both when run as root), or use --runtime fake');
  }
  for (const [flag, port] of [['--port', opts.port], ['--grpc-port', opts.grpcPort]] as const) {
    if (!(await portFree(port, opts.bindAddress))) throw new UserError(`port ${port} (${flag}) is in use on ${opts.bindAddress ?? '127.0.0.1'}: pick another with ${flag}`);
  }
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  // --token-auth: bearer tokens (<dir>/tokens.csv), which the components, the kubeconfig and joining nodes present.
  // A control plane other hosts join (a non-loopback bind address) needs a join token too: nobody is anonymous.
  const tokens = opts.tokenAuth ? ensureJoinTokens(dir) : undefined;
  // Other hosts join with a bootstrap token: it lets a node ask for its own certificate, nothing more.
  const joinToken = opts.bindAddress && !isLoopback(opts.bindAddress) ? ensureBootstrapToken(dir) : undefined;
  if (tokens) opts = { ...opts, tokenFile: tokens.file, token: tokens.admin };
  const t0 = Date.now();
  // The cluster PKI, made on the first start and kept: every connection between the parts is TLS with these.
  const pkiStart = Date.now();
  const hadPki = fs.existsSync(path.join(dir, 'pki', 'ca.crt'));
  await ensureClusterPki(dir, {
    kubernetesServiceIP: intToIp(ipToInt(clusterAddresses(opts.name).serviceCIDR.split('/')[0]) + 1),
    apiserverIPs: [opts.bindAddress, opts.advertiseAddress, opts.bindAddress && !isLoopback(opts.bindAddress) ? advertiseAddressOf(opts.bindAddress, opts.advertiseAddress) : undefined].filter((a): a is string => !!a),
    apiserverDNSNames: [os.hostname()],
    nodes: Array.from({ length: opts.nodes }, (_, i) => ({ name: nodeIdentity(opts.name, i + 1).nodeName, ip: nodeIdentity(opts.name, i + 1).nodeIP })),
  }).catch((err) => { throw new UserError(`the cluster PKI could not be made in ${path.join(dir, 'pki')}: ${(err as Error).message}`); });
  const tls = adminTls(dir);
  const started: Started[] = [];
  const record = (extra: Partial<ClusterState> = {}) => writeState({
    dir, name: opts.name, startedAt: new Date(t0).toISOString(), apiserver: apiserverUrl(opts), grpc: `${apiHost(opts)}:${opts.grpcPort}`,
    etcd: '', kubeconfig: path.join(dir, 'kubeconfig'), ...readState(dir), partitioned: undefined, ...extra,
    components: started.map(({ name, pid, log, url, argv, node, readyUrl }) => ({ name, pid, log, url, argv, node, readyUrl })),
  });
  let overlay: Awaited<ReturnType<typeof podNetworkGateway>>;
  const fail = async (c: Started, err: unknown): Promise<never> => {
    const msg = `${(err as Error).message}. Last lines of ${c.log}:\n${tailFile(c.log)}`;
    await stopSupervised(dir, started, say);
    if (overlay) await releaseOverlayGateway(overlay.network).catch(() => {});
    fs.rmSync(statePath(dir), { force: true });
    throw new UserError(msg);
  };
  /** Wait for several components at once (they start in parallel); the first failure stops everything. */
  const waitFor = async (...cs: Array<[Started, string]>) => {
    for (const [c, what] of cs) say(`waiting for ${c.name} ${what} …`);
    const results = await Promise.allSettled(cs.map(async ([c]) => { await c.ready(); say(`${c.name} ready (${secs(t0)})`); }));
    const i = results.findIndex((r) => r.status === 'rejected');
    if (i >= 0) await fail(cs[i][0], (results[i] as PromiseRejectedResult).reason);
  };

  say(`starting kubemu in ${dir}`);
  say(`${hadPki ? 'cluster PKI checked' : 'cluster PKI made'} in ${path.join(dir, 'pki')} (${Date.now() - pkiStart} ms)`);
  const addrs = clusterAddresses(opts.name);
  const netAdmin = hasNetAdmin();
  // Before any ClusterIP exists: the service range goes nowhere off this machine.
  if (netAdmin) await ensureServiceNetwork({ cidr: ALL_SERVICE_CIDRS }).catch((err) => { throw new UserError(`the service network could not be set up: ${(err as Error).message}`); });
  else say('not root (no CAP_NET_ADMIN): ClusterIPs will not be reachable; NodePorts and LoadBalancer addresses still work');
  // Hollow pods' addresses lead nowhere either (the kubelet simulates what would dial them; this is the guard).
  if (netAdmin && opts.runtime === 'fake') await guardUnroutedRange(FAKE_POD_CIDRS).catch((err) => { throw new UserError(`the fake pod range could not be guarded: ${(err as Error).message}`); });
  // The parent of every component from here on: it restarts one that exits (kubemu status shows it).
  try {
    const supervisor = await startSupervisor(dir, { apiserver: apiserverUrl(opts), logLevel: opts.logLevel });
    opts = { ...opts, launch: (spec) => supervisor.launch(spec) };
    say(`supervisor running (pid ${supervisor.pid}): a component that exits is started again`);
  } catch (err) {
    throw new UserError(`the supervisor did not start: ${(err as Error).message}`);
  }
  let etcd;
  try {
    etcd = await startEtcdComponent({ ...opts, dir });
  } catch (err) {
    await stopSupervised(dir, started, say);
    throw new UserError(`etcd did not start: ${(err as Error).message}`);
  }
  started.push(etcd);
  record({ etcd: etcd.endpoint });
  say(`etcd healthy at ${etcd.endpoint} (${secs(t0)})`);

  const apiserver = await startApiServerComponent({ ...opts, dir }, etcd.endpoint);
  started.push(apiserver);
  record();
  await waitFor([apiserver, `/readyz at ${apiserver.url}`]);

  // Everything else only needs the apiserver: start it all at once, then wait for each.
  const waits: Array<[Started, string]> = [];
  for (let n = 1; n <= opts.controlPlaneReplicas; n++) {
    const scheduler = await startSchedulerComponent({ ...opts, dir }, n);
    const cm = await startControllerManagerComponent({ ...opts, dir }, n);
    started.push(scheduler, cm);
    waits.push([scheduler, `/healthz at ${scheduler.url}`], [cm, `/healthz at ${cm.url}`]);
  }
  // The cluster DNS listens where pods reach it: the host's address on the pod network (a bridge's gateway; on a
  // swarm overlay, docker_gwbridge's), or, for a control plane other hosts join, the address they reach this one at.
  const docker = opts.runtime === 'docker' && opts.nodes > 0;
  const network = opts.network ?? nodeIdentity(opts.name, 1).network;
  overlay = docker && opts.network ? await podNetworkGateway(opts.network, say).catch(async (err) => {
    await stopSupervised(dir, started, say);
    fs.rmSync(statePath(dir), { force: true });
    throw new UserError(`the gateway into overlay ${opts.network} could not be set up: ${(err as Error).message}`);
  }) : undefined;
  const podNet = docker && !overlay ? await ensureClusterNetwork(network) : undefined;
  const wide = opts.bindAddress && !isLoopback(opts.bindAddress) ? advertiseAddressOf(opts.bindAddress, opts.advertiseAddress) : undefined;
  const dns = await startDnsComponent({ ...opts, dir }, podNet?.gateway ?? wide ?? overlay?.podFacingIP ?? '127.0.0.1');
  started.push(dns);
  waits.push([dns, `/readyz at ${dns.url}`]);
  const kubelets = [];
  for (let n = 1; n <= opts.nodes; n++) {
    const k = await startKubeletComponent({ ...opts, dir }, n);
    started.push(k);
    kubelets.push(k);
  }
  // Pods of the fake runtime have no real addresses: kube-proxies only forward for Docker pods.
  const proxies = [];
  for (let n = 1; docker && n <= opts.nodes; n++) proxies.push(await startKubeProxyComponent({ ...opts, dir }, n));
  started.push(...proxies);
  // `down` removes the cluster's bridge when nothing uses it any more, a swarm overlay never (only this host's gateway into it).
  record({ serviceCIDR: addrs.serviceCIDR, nodes: kubelets.map((k) => k.node), runtime: opts.runtime, network: overlay ? '' : network, overlayGateway: overlay?.network });
  await createKubeDns(apiserver.url!, addrs.dnsIP, dns.listen, opts.token, tls).catch((err) => fail(apiserver, err));
  if (joinToken) await publishBootstrapToken(apiserver.url!, joinToken, tls).catch((err) => fail(apiserver, err));
  await waitFor(...waits, ...kubelets.map((k): [Started, string] => [k, `(node ${k.node} Ready)`]), ...proxies.map((p): [Started, string] => [p, `/healthz at ${p.url}`]));
  if (docker && netAdmin) {
    say(`waiting for the cluster DNS at ${addrs.dnsIP}:53 through kube-proxy …`);
    await waitForClusterIP(addrs.dnsIP, 53, 30_000).catch(async (err) => { await stopSupervised(dir, started, say); throw new UserError(String((err as Error).message)); });
    say(`ClusterIPs served (${secs(t0)})`);
  }

  const kubeconfig = path.join(dir, 'kubeconfig');
  // A kubeconfig is a credential (the admin's client key, as kind writes it): only its owner may read it.
  fs.writeFileSync(kubeconfig, kubeconfigYaml({ server: apiserver.url!, ca: tls?.ca, clientCertificate: tls?.cert, clientKey: tls?.key, token: opts.token }), { mode: 0o600 });
  fs.chmodSync(kubeconfig, 0o600);
  record();
  say(`
kubemu is up (${secs(t0)}).
  export KUBECONFIG=${kubeconfig}
  kubectl get namespaces
  kubectl apply -f examples/
  kubectl get all -A -w
logs: ${path.join(dir, 'logs')}/<component>.log  (readable with: npx pino-pretty < ${path.join(dir, 'logs', 'apiserver.log')})
stop: kubemu down --dir ${opts.dir}`);
  if (opts.bindAddress && !isLoopback(opts.bindAddress)) {
    const advertise = advertiseAddressOf(opts.bindAddress, opts.advertiseAddress);
    const cmd = joinCommand({ advertise, port: opts.port, token: joinToken, caCertHash: caCertHash(tls!.ca!), nodeMonitorGracePeriod: opts.nodeMonitorGracePeriod });
    fs.writeFileSync(path.join(dir, 'join-command'), `${cmd}\n`, { mode: 0o600 });
    say(`join other hosts with: ${cmd} [--network OVERLAY]
  (also in ${path.join(dir, 'join-command')}; open TCP ${opts.port} here and 10250 on every node: see docs/multi-host.md)`);
  }
}

export async function down(opts: { dir: string; purge: boolean }, say: Output = defaultOutput): Promise<void> {
  const dir = path.resolve(opts.dir);
  const state = readState(dir);
  if (!state) {
    // A start that failed half-way may have left its supervisor.
    await stopSupervised(dir, [], say);
    say(`no cluster state in ${dir}: nothing to stop`);
  } else {
    await stopSupervised(dir, state.components, say);
    // What `kubemu partition` put on the host goes with the cluster: its iptables rules, then (no process left in them) its cgroups.
    const name = state.name ?? 'kubemu';
    if (hasNetAdmin() && state.partitioned?.length) await removePartitionRules(name).catch((err) => say(`could not remove partition rules: ${(err as Error).message}`));
    await removePartitionCgroups(name).catch((err) => say(`could not remove partition cgroups: ${(err as Error).message}`));
    if (state.serviceCIDR) await cleanupServiceNetwork(state.serviceCIDR, state.nodes ?? []).catch((err) => say(`could not clean up the service network: ${(err as Error).message}`));
    // Pods outlive their kubelets (a restarted kubelet adopts them); a cluster going down takes them along.
    if (state.runtime === 'docker' && state.nodes?.length) {
      const removed = await removeNodeContainers(state.nodes, state.network).catch((err) => { say(`could not remove pod containers: ${(err as Error).message}`); return 0; });
      if (removed) say(`removed ${removed} pod container(s)`);
    }
    if (state.overlayGateway) {
      const r = await releaseOverlayGateway(state.overlayGateway).catch((err) => { say(`could not remove the overlay gateway: ${(err as Error).message}`); return 'failed'; });
      if (r === 'removed') say(`removed the gateway into overlay ${state.overlayGateway}`);
      if (r === 'in-use') say(`kept the gateway into overlay ${state.overlayGateway}: another kubelet on this host still uses it`);
    }
  }
  fs.rmSync(statePath(dir), { force: true });
  if (opts.purge && fs.existsSync(dir)) {
    fs.rmSync(dir, { recursive: true, force: true });
    say(`removed ${dir}`);
  }
}
