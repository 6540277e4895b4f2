// Command-line parsing of `kubemu`: commands, flags, their checks and the usage text.
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { UserError } from '../launcher/output.ts';

export const USAGE = `usage: kubemu <command> [flags]

commands:
  up      start a cluster: etcd, apiserver, scheduler, controller manager, cluster DNS, and a kubelet and a kube-proxy
          per node, each its own process;
          waits until every node is Ready; writes <dir>/kubeconfig
  down    stop the cluster started from <dir> and remove its pod containers (--purge also deletes its data)
  status  show each component (running, restarts, last exit, back-off) and whether the apiserver is ready
  join    make this host a node of a control plane elsewhere (kubemu up --bind-address there prints the command):
          kubemu join --apiserver https://HOST:PORT --token T --discovery-token-ca-cert-hash sha256:H [--name NODE] [--node-ip IP] [--network NET] [--dir DIR]
          starts a kubelet and a kube-proxy here, waits until the node is Ready; kubemu down --dir DIR leaves
  images load IMAGE…
          make images built on this machine runnable on every node, no registry (all nodes here share this host's
          Docker engine: checks and records them); --docker-host tcp://HOST:PORT|ssh://USER@HOST (repeatable)
          also streams them into the engines of other hosts (docker save | docker load)

faults (on the cluster started from --dir; each recorded in <dir>/faults.jsonl and as an Event). The cluster's
supervisor restarts a component that exits (back-off 1 s doubling to 30 s), as a node's systemd would:
  kill COMPONENT            kill a component process (SIGKILL; --signal SIGTERM for a clean stop): etcd, apiserver,
                            scheduler, controller-manager, dns, kubelet-NODE, kube-proxy-NODE (see: kubemu status);
                            the supervisor starts it again, unless --no-restart (then it stays down until restart)
  restart COMPONENT         kill it if it runs, start it again with the same command line, wait until it answers
  stop-node NODE            as if the machine died: SIGKILL its kubelet, kube-proxy and pod containers (not restarted)
  start-node NODE           start its kubelet and kube-proxy again (the kubelet restarts its pods)
  partition NODE            cut its kubelet and kube-proxy off from the apiserver (cgroup + iptables); pods keep running
  heal NODE                 undo partition
  pause POD CONTAINER       docker pause a pod's container behind the kubelet's back (-n NAMESPACE, default default)
  resume POD CONTAINER      undo pause

flags:
  --dir DIR          state, data and logs (default .kubemu)
  --name NAME        cluster name (default kubemu: nodes node-1 … on 127.0.1.1 …); another name gets
                     nodes <name>-node-1 … on their own addresses and Docker network, so clusters coexist
  --port N           apiserver REST port (default 6443)
  --grpc-port N      apiserver gRPC port (default 6444)
  --nodes N          nodes (kubelets) to start, node-1 … node-N on 127.0.1.1 … (default 2)
  --runtime R        docker (pods are Docker containers) | fake (in-memory hollow nodes) (default docker)
  --log-level L      component log level (default info)
  --fake-pull-delay-ms N
                     with --runtime fake: a simulated image pull takes N ms (default 0)
  --fake-fail-images GLOBS
                     with --runtime fake: comma-separated image globs whose pull fails with ErrImagePull (default *missing*)
  --dns-upstream IP[:PORT],…|none
                     where the cluster DNS forwards names outside cluster.local (default: this host's
                     /etc/resolv.conf nameservers; none: they get SERVFAIL)
  --cpu-prof DIR      every component writes a V8 CPU profile into DIR/<component>/ when it exits (kubemu down);
                     scripts/cpuprofile-top.ts prints a profile's hottest functions
  --control-plane-replicas N
                     schedulers and controller managers to run, with leader election (default 1)
  --node-monitor-grace-period S
                     seconds without a kubelet heartbeat before a node is Unknown (default 40)
  --pod-eviction-timeout S
                     seconds pods stay on an unreachable node before they are evicted (default 300)
  --leader-lease-seconds S
                     leader lease of the scheduler and controller manager (default 15)
  --proxy-mode M     kube-proxy data path: userspace (a Node process forwards each connection) |
                     iptables (kube-proxy writes kernel NAT rules; faster) (default userspace)
  --purge            with down: remove <dir>
  --bind-address A   with up: the apiserver listens on A (default 127.0.0.1; 0.0.0.0 = all addresses); a non-loopback
                     address makes up print the join command for other hosts, with a join token (<dir>/tokens.csv)
  --token-auth       with up: bearer tokens as well as certificates (<dir>/tokens.csv; the kubeconfig carries the admin's)
  --advertise-address A
                     with up: the address other hosts reach the apiserver at, in the join command (default: the bind address)
  --apiserver URL    with join: the apiserver's REST URL, https://HOST:PORT
  --discovery-token-ca-cert-hash sha256:H
                     with join: the cluster CA's public-key hash (kubeadm's): the CA is taken from the apiserver only if it matches
  --token T          with join: the join token kubemu up printed
  --node-ip IP       with join: this node's address (default: the one this host uses towards the apiserver)
  --network NET      with join and up: the Docker network pods join (default kubemu, or the cluster's own); on a swarm
                     overlay (pods across hosts) a gateway container gives this host a route in (docs/multi-host.md)
                     (with join, --name NODE is the node name, default this host's name)
  -n, --namespace NS with pause and resume: the pod's namespace (default default)
  --signal SIG       with kill: SIGKILL (default) or SIGTERM
  --no-restart       with kill: the supervisor does not start it again (kubemu restart does)
`;

/** Each command and the operands it takes after its name. */
const COMMANDS = {
  up: [], down: [], status: [], help: [],
  kill: ['COMPONENT'], restart: ['COMPONENT'], 'stop-node': ['NODE'], 'start-node': ['NODE'], partition: ['NODE'], heal: ['NODE'],
  pause: ['POD', 'CONTAINER'], resume: ['POD', 'CONTAINER'], join: [], images: ['load', 'IMAGE'],
} as const;

export type Command = keyof typeof COMMANDS;

export interface CliArgs {
  command: Command;
  /** The command's operands (COMPONENT, NODE, or POD CONTAINER). */
  operands: string[];
  namespace: string;
  signal: 'SIGKILL' | 'SIGTERM';
  /** kill: the supervisor keeps it down. */
  noRestart: boolean;
  dir: string; port: number; grpcPort: number; nodes: number; runtime: string; logLevel: string; purge: boolean;
  name: string; controlPlaneReplicas: number; nodeMonitorGracePeriod: number; podEvictionTimeout: number; leaderLeaseSeconds: number;
  proxyMode: string;
  /** up --runtime fake: how long a simulated image pull takes, and the images (globs) whose pull fails. */
  fakePullDelayMs: number; fakeFailImages: string;
  /** up: the cluster DNS's --upstream ('' = the host's resolv.conf). */
  dnsUpstream: string;
  /** --cpu-prof: where each component writes its CPU profile. */
  cpuProf?: string;
  /** up: where the apiserver listens, and the address the join command names. */
  bindAddress?: string; advertiseAddress?: string; tokenAuth: boolean;
  /** join: the apiserver URL, token, node name (--name), node IP and pod network. */
  apiserver?: string; token?: string; caCertHash?: string; nodeName?: string; nodeIP?: string; network?: string;
  /** images load: other hosts' Docker engines to load the images into. */
  dockerHosts?: string[];
}

function wholeNumber(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new UserError(`${flag}: want a whole number from ${min} to ${max}, got ${v}`, 2);
  return n;
}

function portOf(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new UserError(`${flag}: not a port: ${v}`, 2);
  return n;
}

function dnsUpstream(v: string): string {
  const bad = v.split(',').find((u) => !isIP(u) && !/^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):\d{1,5}$/.test(u));
  if (v && v !== 'none' && bad !== undefined) throw new UserError(`--dns-upstream: want IP[:PORT],… or none, got ${JSON.stringify(bad)}`, 2);
  return v;
}

function clusterName(v: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(v)) throw new UserError(`--name: want lower-case letters, digits and '-' (at most 32), got ${JSON.stringify(v)}`, 2);
  return v;
}

export function parseCli(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        dir: { type: 'string', default: '.kubemu' }, port: { type: 'string', default: '6443' },
        'grpc-port': { type: 'string', default: '6444' }, nodes: { type: 'string', default: '2' },
        runtime: { type: 'string', default: 'docker' }, 'log-level': { type: 'string', default: 'info' },
        purge: { type: 'boolean', default: false }, name: { type: 'string' }, 'control-plane-replicas': { type: 'string', default: '1' },
        'node-monitor-grace-period': { type: 'string', default: '40' }, 'pod-eviction-timeout': { type: 'string', default: '300' },
        'leader-lease-seconds': { type: 'string', default: '15' }, 'proxy-mode': { type: 'string', default: 'userspace' },
        'fake-pull-delay-ms': { type: 'string', default: '0' }, 'fake-fail-images': { type: 'string', default: '*missing*' },
        'dns-upstream': { type: 'string', default: '' }, 'cpu-prof': { type: 'string' },
        'bind-address': { type: 'string' }, 'token-auth': { type: 'boolean', default: false }, 'advertise-address': { type: 'string' }, apiserver: { type: 'string' }, token: { type: 'string' }, 'discovery-token-ca-cert-hash': { type: 'string' },
        'node-ip': { type: 'string' }, network: { type: 'string' }, 'docker-host': { type: 'string', multiple: true },
        namespace: { type: 'string', short: 'n', default: 'default' }, signal: { type: 'string', default: 'SIGKILL' }, 'no-restart': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UserError(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  const command = values.help ? 'help' : positionals[0] ?? 'up';
  if (!Object.hasOwn(COMMANDS, command)) throw new UserError(`unknown command "${command}"\n\n${USAGE}`, 2);
  const want: readonly string[] = COMMANDS[command as Command];
  const operands = positionals.slice(1);
  if (operands.length < want.length) throw new UserError(`${command}: missing ${want.slice(operands.length).join(' ')} (usage: kubemu ${command} ${want.join(' ')} [--dir DIR])\n\n${USAGE}`, 2);
  if (operands.length > want.length && command !== 'images') throw new UserError(`unexpected argument "${operands[want.length]}"\n\n${USAGE}`, 2);
  if (values.signal !== 'SIGKILL' && values.signal !== 'SIGTERM') throw new UserError(`--signal: want SIGKILL or SIGTERM, got ${values.signal}`, 2);
  const nodes = Number(values.nodes);
  if (!/^\d+$/.test(values.nodes!) || nodes > 500) throw new UserError(`--nodes: want a number from 0 to 500, got ${values.nodes}`, 2);
  if (!['docker', 'fake'].includes(values.runtime!)) throw new UserError(`--runtime: want docker or fake, got ${values.runtime}`, 2);
  if (!['userspace', 'iptables'].includes(values['proxy-mode']!)) throw new UserError(`--proxy-mode: want userspace or iptables, got ${values['proxy-mode']}`, 2);
  if (command === 'join' && !values.apiserver) throw new UserError(`join: --apiserver URL is required (kubemu up --bind-address on the control-plane host prints the whole command)\n\n${USAGE}`, 2);
  for (const f of ['bind-address', 'advertise-address'] as const) if (values[f] !== undefined && !isIP(values[f]!)) throw new UserError(`--${f}: not an IP address: ${values[f]}`, 2);
  return {
    command: command as Command, operands, namespace: values.namespace!, signal: values.signal, noRestart: values['no-restart']!, dir: values.dir!, port: portOf('--port', values.port!), grpcPort: portOf('--grpc-port', values['grpc-port']!),
    nodes, runtime: values.runtime!, logLevel: values['log-level']!, purge: values.purge!,
    name: command === 'join' ? 'kubemu' : clusterName(values.name ?? 'kubemu'),
    bindAddress: values['bind-address'], advertiseAddress: values['advertise-address'], tokenAuth: values['token-auth']!,
    apiserver: values.apiserver, token: values.token, caCertHash: values['discovery-token-ca-cert-hash'], nodeName: command === 'join' ? values.name : undefined, nodeIP: values['node-ip'], network: values.network,
    controlPlaneReplicas: wholeNumber('--control-plane-replicas', values['control-plane-replicas']!, 1, 3),
    nodeMonitorGracePeriod: wholeNumber('--node-monitor-grace-period', values['node-monitor-grace-period']!, 2, 3600),
    podEvictionTimeout: wholeNumber('--pod-eviction-timeout', values['pod-eviction-timeout']!, 0, 86400),
    leaderLeaseSeconds: wholeNumber('--leader-lease-seconds', values['leader-lease-seconds']!, 2, 600),
    proxyMode: values['proxy-mode']!,
    fakePullDelayMs: wholeNumber('--fake-pull-delay-ms', values['fake-pull-delay-ms']!, 0, 600_000), fakeFailImages: values['fake-fail-images']!,
    dockerHosts: values['docker-host'],
    dnsUpstream: dnsUpstream(values['dns-upstream']!),
    cpuProf: values['cpu-prof'],
  };
}

