// Service load balancers, as a cloud provider's service controller with a MetalLB-like address
// pool: every Service of type LoadBalancer gets one address from the pool (its
// spec.loadBalancerIP if that is in the pool and free, else the lowest free one) written into
// status.loadBalancer.ingress, so `kubectl get svc` shows an EXTERNAL-IP. The kube-proxies then
// serve that address like a NodePort. On one machine the pool is on the loopback range, so the
// address works from the host with no tunnel. A Service that stops being a LoadBalancer loses it.
import type { KubeObject } from '../../api/types.ts';
import { keyOf } from '../../client/informer.ts';
import { intToIp, ipToInt, isIPv4 } from '../../lib/ipv4.ts';
import { recordEvent } from '../../client/events.ts';
import { newQueue, splitKey, type Controller, type ControllerContext } from '../controller.ts';
import { R } from '../informers.ts';

const source = { component: 'service-controller' };
export const DEFAULT_LOAD_BALANCER_POOL = '127.0.255.1-127.0.255.254';


/** A pool as "a.b.c.d-e.f.g.h" or a CIDR "a.b.c.d/n" (network and broadcast left out), up to 65536 addresses. */
export function parsePool(pool: string): string[] {
  const range = pool.trim().match(/^([\d.]+)-([\d.]+)$/);
  const cidr = pool.trim().match(/^([\d.]+)\/(\d+)$/);
  let first: number, last: number;
  if (range && isIPv4(range[1]) && isIPv4(range[2])) {
    [first, last] = [ipToInt(range[1]), ipToInt(range[2])];
  } else if (cidr && isIPv4(cidr[1]) && Number(cidr[2]) >= 16 && Number(cidr[2]) <= 32) {
    const bits = Number(cidr[2]);
    const size = 2 ** (32 - bits);
    const base = ipToInt(cidr[1]) - (ipToInt(cidr[1]) % size);
    [first, last] = bits >= 31 ? [base, base + size - 1] : [base + 1, base + size - 2];
  } else {
    throw new Error(`want FIRST-LAST or an IPv4 CIDR of /16 or smaller, got "${pool}"`);
  }
  if (last < first) throw new Error(`${pool} is empty (last before first)`);
  if (last - first >= 65536) throw new Error(`${pool} has more than 65536 addresses`);
  return Array.from({ length: last - first + 1 }, (_, i) => intToIp(first + i));
}

const ingressIPs = (svc: KubeObject): string[] => (svc.status?.loadBalancer?.ingress ?? []).map((i: { ip?: string }) => i.ip).filter(Boolean);

export function newServiceLoadBalancerController(ctx: ControllerContext): Controller {
  const { client, logger } = ctx;
  const pool = parsePool(ctx.options.loadBalancerPool ?? DEFAULT_LOAD_BALANCER_POOL);
  const inPool = new Set(pool);
  const services = ctx.informers.get('services');
  const queue = newQueue();
  // An address freed by one Service may be what another is waiting for: look at the pending ones again.
  const requeuePending = () => { for (const s of services.list()) if (s.spec?.type === 'LoadBalancer' && !ingressIPs(s).length) queue.add(keyOf(s)); };
  services.addHandlers({
    onAdd: (s) => queue.add(keyOf(s)),
    onUpdate: (o, s) => { queue.add(keyOf(s)); if (ingressIPs(o).length && !ingressIPs(s).length) requeuePending(); },
    onDelete: (s) => { if (ingressIPs(s).length) requeuePending(); },
  });

  async function setIngress(svc: KubeObject, ip: string | undefined): Promise<void> {
    // A merge patch: null removes the list.
    const loadBalancer = ip ? { ingress: [{ ip, ipMode: 'VIP' }] } : { ingress: null };
    await client.patch(R.services, svc.metadata.namespace, svc.metadata.name!, { metadata: { resourceVersion: svc.metadata.resourceVersion }, status: { loadBalancer } }, { subresource: 'status' });
  }

  async function reconcile(key: string): Promise<void> {
    const { namespace: ns, name } = splitKey(key);
    const svc = services.get(name, ns);
    if (!svc) return;
    const mine = ingressIPs(svc).filter((ip) => inPool.has(ip));
    if (svc.spec?.type !== 'LoadBalancer') {
      if (mine.length) { await setIngress(svc, undefined); logger.info({ service: key }, 'no longer a LoadBalancer: address released'); }
      return;
    }
    // Taken by others; one worker only, so two Services never get the same address at once.
    const taken = new Set(services.list().filter((s) => keyOf(s) !== key && s.spec?.type === 'LoadBalancer').flatMap(ingressIPs));
    const wanted: string | undefined = svc.spec?.loadBalancerIP || undefined;
    if (mine.length === 1 && !taken.has(mine[0]) && (!wanted || wanted === mine[0])) return;
    let ip: string | undefined;
    if (wanted) {
      if (!inPool.has(wanted) || taken.has(wanted)) {
        recordEvent(client, logger, source, svc, 'Warning', 'LoadBalancerIPNotAvailable', `spec.loadBalancerIP ${wanted} is ${inPool.has(wanted) ? 'taken by another Service' : 'not in the load balancer pool'}`);
        return;
      }
      ip = wanted;
    } else {
      ip = pool.find((a) => !taken.has(a));
    }
    if (!ip) {
      recordEvent(client, logger, source, svc, 'Warning', 'AllocationFailed', `no free address in the load balancer pool (${pool.length} addresses)`);
      return;
    }
    recordEvent(client, logger, source, svc, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer');
    await setIngress(svc, ip);
    recordEvent(client, logger, source, svc, 'Normal', 'EnsuredLoadBalancer', `Ensured load balancer ${ip}`);
    logger.info({ service: key, ip }, 'load balancer address assigned');
  }

  return { name: 'service-lb-controller', queue, reconcile, workers: 1 };
}
