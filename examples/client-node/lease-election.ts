// Leader election over a coordination.k8s.io/v1 Lease with @kubernetes/client-node, which (1.x) has no elector:
// client-go's tryAcquireOrRenew rules. A candidate creates the Lease if it is missing; renews it while it holds
// it; takes it over only once renewTime + leaseDurationSeconds has passed (acquireTime and leaseTransitions
// then change); and every write carries the resourceVersion read, so of two candidates racing only one wins
// (the other gets 409 Conflict). Times are V1MicroTime: the API reads them as RFC 3339 with microseconds and
// refuses a plain Date's milliseconds, as kube-apiserver does.
//
//   const leases = kc.makeApiClient(k8s.CoordinationV1Api);
//   setInterval(async () => { leading = await tryAcquireOrRenew(leases, 'default', 'my-controller', myId, 15); }, 2000);
//
// test/e2e/client-node.test.ts runs two candidates through it against a kubemu cluster.
import * as k8s from '@kubernetes/client-node';

const code = (err: unknown) => (err as { code?: number }).code;

export async function tryAcquireOrRenew(leases: k8s.CoordinationV1Api, namespace: string, name: string, id: string, durationSeconds: number): Promise<boolean> {
  const now = new k8s.V1MicroTime();
  let lease: k8s.V1Lease;
  try {
    lease = await leases.readNamespacedLease({ name, namespace });
  } catch (err) {
    if (code(err) !== 404) throw err;
    try {
      await leases.createNamespacedLease({ namespace, body: { metadata: { name }, spec: { holderIdentity: id, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } } });
      return true;
    } catch (e) {
      if (code(e) === 409) return false; // another candidate created it first
      throw e;
    }
  }
  const spec = lease.spec ?? {};
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  const held = spec.holderIdentity && spec.holderIdentity !== id;
  if (held && renewed + (spec.leaseDurationSeconds ?? durationSeconds) * 1000 > now.getTime()) return false;
  lease.spec = {
    ...spec, holderIdentity: id, leaseDurationSeconds: durationSeconds, renewTime: now,
    ...(spec.holderIdentity !== id ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
  };
  try {
    await leases.replaceNamespacedLease({ name, namespace, body: lease });
    return true;
  } catch (e) {
    if (code(e) === 409) return false; // someone wrote it since we read it
    throw e;
  }
}
