// Every kind's rules by group and resource: one file per built-in kind beside this one, and the kinds of
// CustomResourceDefinitions made from their ResourceInfo (custom.ts). Adding a built-in kind is one entry in
// api/resources.ts, its file here and its line below.
import type { ResourceInfo } from '../../api/resources.ts';
import { certificatesigningrequests } from './certificatesigningrequests.ts';
import { componentstatuses } from './componentstatuses.ts';
import { configmaps } from './configmaps.ts';
import { cronjobs } from './cronjobs.ts';
import { customKind } from './custom.ts';
import { customresourcedefinitions } from './customresourcedefinitions.ts';
import { daemonsets } from './daemonsets.ts';
import { deployments } from './deployments.ts';
import { endpoints } from './endpoints.ts';
import { events } from './events.ts';
import { jobs } from './jobs.ts';
import type { Kind } from './kind.ts';
import { leases } from './leases.ts';
import { limitranges } from './limitranges.ts';
import { namespaces } from './namespaces.ts';
import { nodes } from './nodes.ts';
import { persistentvolumeclaims } from './persistentvolumeclaims.ts';
import { persistentvolumes } from './persistentvolumes.ts';
import { poddisruptionbudgets } from './poddisruptionbudgets.ts';
import { pods } from './pods.ts';
import { replicasets } from './replicasets.ts';
import { resourcequotas } from './resourcequotas.ts';
import { replicationcontrollers } from './replicationcontrollers.ts';
import { secrets } from './secrets.ts';
import { serviceaccounts } from './serviceaccounts.ts';
import { tokenreviews } from './tokenreviews.ts';
import { selfsubjectreviews } from './selfsubjectreviews.ts';
import { services } from './services.ts';
import { statefulsets } from './statefulsets.ts';
import { storageclasses } from './storageclasses.ts';

const TABLE: Record<string, Kind> = {
  '/namespaces': namespaces, '/nodes': nodes, '/pods': pods, '/services': services, '/endpoints': endpoints,
  '/configmaps': configmaps, '/secrets': secrets, '/events': events, '/replicationcontrollers': replicationcontrollers,
  '/serviceaccounts': serviceaccounts, '/componentstatuses': componentstatuses,
  'authentication.k8s.io/tokenreviews': tokenreviews, 'authentication.k8s.io/selfsubjectreviews': selfsubjectreviews,
  '/resourcequotas': resourcequotas, '/limitranges': limitranges,
  '/persistentvolumes': persistentvolumes, '/persistentvolumeclaims': persistentvolumeclaims,
  'storage.k8s.io/storageclasses': storageclasses,
  'policy/poddisruptionbudgets': poddisruptionbudgets,
  'certificates.k8s.io/certificatesigningrequests': certificatesigningrequests,
  'apps/deployments': deployments, 'apps/replicasets': replicasets, 'apps/daemonsets': daemonsets, 'apps/statefulsets': statefulsets,
  'batch/jobs': jobs, 'batch/cronjobs': cronjobs,
  'coordination.k8s.io/leases': leases,
  'apiextensions.k8s.io/customresourcedefinitions': customresourcedefinitions,
};

/** A built-in kind's defaults skip a malformed spec (validation reports it) and never crash on wrong types deeper down. */
const wellFormed = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
function guarded(kind: Kind): Kind {
  const { defaults } = kind;
  if (!defaults) return kind;
  return {
    ...kind,
    defaults(obj) {
      if (!wellFormed(obj.spec) || !wellFormed(obj.spec?.template) || !wellFormed(obj.spec?.template?.spec)) return;
      try { defaults(obj); } catch { /* e.g. a string where a list belongs: validation reports it */ }
    },
  };
}
const BUILTIN = Object.fromEntries(Object.entries(TABLE).map(([k, v]) => [k, guarded(v)]));

const NONE: Kind = {};
const customKinds = new WeakMap<ResourceInfo, Kind>();

/** The rules of the kind a ResourceInfo names (a custom kind's are built once per ResourceInfo). */
export function kindFor(info: ResourceInfo): Kind {
  if (!info.custom) return BUILTIN[`${info.group}/${info.resource}`] ?? NONE;
  let k = customKinds.get(info);
  if (!k) customKinds.set(info, k = customKind(info));
  return k;
}
