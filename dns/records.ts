// What the cluster DNS answers, from Services and Endpoints as the informer caches hold them,
// following the Kubernetes DNS spec (github.com/kubernetes/dns docs/specification.md) and
// CoreDNS's kubernetes plugin with "pods insecure":
//   <svc>.<ns>.svc.<domain>               A: the ClusterIP; headless: each ready endpoint address;
//                                         ExternalName: CNAME to spec.externalName (not followed)
//   <ep>.<svc>.<ns>.svc.<domain>          A: one endpoint of a headless service (ep = hostname or a-b-c-d)
//   _<port>._<proto>.<svc>.<ns>.svc.<domain>  SRV 0 ⌊100/n⌋ <port> <target>, target A records as additionals
//   <a-b-c-d>.<ns>.pod.<domain>           A: a.b.c.d
//   <d.c.b.a>.in-addr.arpa                PTR: a ClusterIP or a headless endpoint address, if we have it
// A pod with spec.hostname and spec.subdomain naming a headless Service of its namespace is the
// endpoint `<hostname>.<subdomain>.<ns>.svc.<domain>`: the endpoints controller puts the hostname
// on its address. Anything else in the domain is NXDOMAIN (or NODATA where the name exists with
// other types); names outside it, and reverse names we do not know, are not ours: the answer says
// `forward` (CoreDNS's `forward . /etc/resolv.conf` and `fallthrough in-addr.arpa`).
import net from 'node:net';
import type { KubeObject } from '../api/types.ts';
import type { Answer } from './server.ts';
import { aRecord, cnameRecord, normalizeName, ptrRecord, RCode, RRClass, RRType, srvRecord, type Question, type ResourceRecord } from './wire.ts';

/** The read side of an informer cache (Informer satisfies it; tests can pass a map). */
export interface Lister {
  get(name: string, namespace?: string): KubeObject | undefined;
  list(namespace?: string): KubeObject[];
}

export interface ClusterRecordsOptions {
  /** The cluster domain, e.g. cluster.local. */
  domain: string;
  services: Lister;
  endpoints: Lister;
  /** Seconds; CoreDNS's default is 5. */
  ttl?: number;
}

interface EndpointAddress { ip: string; hostname?: string }
interface EndpointPort { name?: string; port: number; protocol?: string }
interface EndpointSubset { addresses?: EndpointAddress[]; ports?: EndpointPort[] }

/** The records that exist at one name; `extra` holds the A records of SRV targets. */
interface NameRecords { rrs: ResourceRecord[]; extra: ResourceRecord[] }

const REVERSE_SUFFIX = '.in-addr.arpa';
const SRV_PRIORITY = 0;
/** CoreDNS splits 100 among the records of one priority: floor(100 / n) each. */
const srvWeight = (n: number) => Math.floor(100 / Math.max(1, n));

const isIPv4 = (s: unknown): s is string => typeof s === 'string' && net.isIPv4(s);
const isHeadless = (svc: KubeObject) => svc.spec?.clusterIP === 'None';
const isExternalName = (svc: KubeObject) => svc.spec?.type === 'ExternalName';
/** The label an endpoint address is known by: its hostname, else its IP with dashes (as CoreDNS). */
const endpointLabel = (a: EndpointAddress) => (a.hostname || a.ip.replaceAll('.', '-')).toLowerCase();

export function createLookup(opts: ClusterRecordsOptions): (q: Question) => Answer {
  const domain = normalizeName(opts.domain);
  const ttl = opts.ttl ?? 5;
  const soa: ResourceRecord = {
    name: domain, type: RRType.SOA, class: RRClass.IN, ttl,
    // As CoreDNS: a negative answer is cached no longer than a positive one (minimum = ttl).
    data: { kind: 'SOA', mname: `ns.dns.${domain}`, rname: `hostmaster.${domain}`, serial: Math.floor(Date.now() / 1000), refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  };
  const svcName = (svc: KubeObject) => `${svc.metadata.name}.${svc.metadata.namespace}.svc.${domain}`;

  /** Ready addresses of a service's Endpoints with the ports of their subset (bad data skipped). */
  function readyAddresses(svc: KubeObject): Array<{ address: EndpointAddress; ports: EndpointPort[] }> {
    const ep = opts.endpoints.get(svc.metadata.name!, svc.metadata.namespace);
    const subsets = Array.isArray(ep?.subsets) ? ep.subsets as EndpointSubset[] : [];
    return subsets.flatMap((s) => (Array.isArray(s?.addresses) ? s.addresses : [])
      .filter((a) => isIPv4(a?.ip))
      .map((address) => ({ address, ports: Array.isArray(s.ports) ? s.ports : [] })));
  }

  const matchesPort = (p: { name?: string; protocol?: string } | undefined, port: string, proto: string) =>
    !!p?.name && p.name.toLowerCase() === port && (p.protocol ?? 'TCP').toLowerCase() === proto;

  /** SRV records for a service: every port (the plain name, as CoreDNS), or those matching `_port._proto`. */
  function srvRecords(owner: string, svc: KubeObject, want?: { port: string; proto: string }): NameRecords {
    const out: NameRecords = { rrs: [], extra: [] };
    const wanted = (p: EndpointPort) => (want ? matchesPort(p, want.port, want.proto) : Number.isInteger(p?.port));
    if (isHeadless(svc)) {
      for (const { address, ports } of readyAddresses(svc)) {
        const target = `${endpointLabel(address)}.${svcName(svc)}`;
        for (const p of ports.filter(wanted)) {
          out.rrs.push(srvRecord(owner, ttl, { priority: SRV_PRIORITY, weight: 0, port: p.port, target }));
          out.extra.push(aRecord(target, address.ip, ttl));
        }
      }
    } else if (isIPv4(svc.spec?.clusterIP)) {
      const ports: EndpointPort[] = Array.isArray(svc.spec.ports) ? svc.spec.ports : [];
      for (const p of ports.filter(wanted)) {
        out.rrs.push(srvRecord(owner, ttl, { priority: SRV_PRIORITY, weight: 0, port: p.port, target: svcName(svc) }));
        out.extra.push(aRecord(svcName(svc), svc.spec.clusterIP, ttl));
      }
    }
    for (const r of out.rrs) if (r.data.kind === 'SRV') r.data.weight = srvWeight(out.rrs.length);
    return out;
  }

  /** <svc>.<ns>.svc.<domain> */
  function serviceRecords(owner: string, svc: KubeObject): NameRecords {
    if (isExternalName(svc)) {
      const target = typeof svc.spec?.externalName === 'string' ? normalizeName(svc.spec.externalName) : '';
      return { rrs: target ? [cnameRecord(owner, target, ttl)] : [], extra: [] };
    }
    const srv = srvRecords(owner, svc);
    const ips = isHeadless(svc) ? readyAddresses(svc).map((r) => r.address.ip) : [svc.spec?.clusterIP].filter(isIPv4);
    return { rrs: [...new Set(ips)].map((ip) => aRecord(owner, ip, ttl)).concat(srv.rrs), extra: srv.extra };
  }

  /** The records at `rel` (the labels before the domain), or undefined if no such name exists. */
  function recordsAt(owner: string, rel: string[]): NameRecords | undefined {
    const none: NameRecords = { rrs: [], extra: [] };
    if (rel.length === 0) return { rrs: [{ ...soa, name: owner }], extra: [] };
    const kind = rel[rel.length - 1];
    if (kind === 'svc') {
      const [ns, name] = [rel[rel.length - 2], rel[rel.length - 3]];
      if (rel.length === 1) return none;
      if (rel.length === 2) return opts.services.list(ns).length > 0 ? none : undefined;
      const svc = opts.services.get(name, ns);
      if (!svc) return undefined;
      if (rel.length === 3) return serviceRecords(owner, svc);
      if (rel.length === 4 && rel[0].startsWith('_')) return none; // _<proto>.<svc>…: an empty non-terminal
      if (rel.length === 4 && isHeadless(svc)) {
        const ips = readyAddresses(svc).filter((r) => endpointLabel(r.address) === rel[0]).map((r) => r.address.ip);
        return ips.length ? { rrs: [...new Set(ips)].map((ip) => aRecord(owner, ip, ttl)), extra: [] } : undefined;
      }
      if (rel.length === 5 && rel[0].startsWith('_') && rel[1].startsWith('_')) {
        const found = srvRecords(owner, svc, { port: rel[0].slice(1), proto: rel[1].slice(1) });
        return found.rrs.length ? found : undefined;
      }
      return undefined;
    }
    if (kind === 'pod') {
      if (rel.length <= 2) return none;
      const ip = rel[0].replaceAll('-', '.');
      return rel.length === 3 && isIPv4(ip) ? { rrs: [aRecord(owner, ip, ttl)], extra: [] } : undefined;
    }
    return undefined;
  }

  /** PTR for an address we know: a ClusterIP or a headless service's endpoint. A scan: small clusters. */
  function reverse(ip: string): string | undefined {
    for (const svc of opts.services.list()) {
      if (svc.spec?.clusterIP === ip) return svcName(svc);
      if (isHeadless(svc)) {
        const hit = readyAddresses(svc).find((r) => r.address.ip === ip);
        if (hit) return `${endpointLabel(hit.address)}.${svcName(svc)}`;
      }
    }
    return undefined;
  }

  /** Keep what the question asked for; a CNAME answers every type (RFC 1034 §3.6.2). */
  function select(q: Question, found: NameRecords): Answer {
    const cname = found.rrs.filter((r) => r.type === RRType.CNAME);
    const answers = cname.length ? cname : found.rrs.filter((r) => q.type === RRType.ANY || r.type === q.type);
    if (answers.length === 0) return { rcode: RCode.NOERROR, authorities: [soa], authoritative: true };
    const additionals = answers.some((r) => r.type === RRType.SRV) ? dedupe(found.extra) : [];
    return { rcode: RCode.NOERROR, answers, additionals, authoritative: true };
  }

  return (q: Question): Answer => {
    const name = normalizeName(q.name);
    if (name === domain || name.endsWith(`.${domain}`)) {
      const rel = name === domain ? [] : name.slice(0, -domain.length - 1).split('.');
      const found = recordsAt(q.name, rel);
      return found ? select(q, found) : { rcode: RCode.NXDOMAIN, authorities: [soa], authoritative: true };
    }
    if (name.endsWith(REVERSE_SUFFIX)) {
      const ip = name.slice(0, -REVERSE_SUFFIX.length).split('.').reverse().join('.');
      const target = isIPv4(ip) ? reverse(ip) : undefined;
      if (target) return select(q, { rrs: [ptrRecord(q.name, target, ttl)], extra: [] });
    }
    return { rcode: RCode.REFUSED, forward: true };
  };
}

function dedupe(rrs: ResourceRecord[]): ResourceRecord[] {
  const seen = new Set<string>();
  return rrs.filter((r) => {
    const key = `${r.name} ${r.data.kind === 'A' ? r.data.address : ''}`;
    return !seen.has(key) && !!seen.add(key);
  });
}
