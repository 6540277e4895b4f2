// Which protobuf message each request body kind is: every kind kubemu serves (api/resources.ts), the bodies of
// its subresources (binding, eviction, scale) and DeleteOptions. scripts/gen-proto.ts keeps the messages reachable
// from these in proto/k8s/descriptor.json; protobuf.ts looks bodies up here.
import { RESOURCES, apiVersionOf } from '../../api/resources.ts';

export interface ProtobufKind { apiVersion: string; kind: string; message: string }

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';

/** k8s.io/api's package for a group/version: '' → core, 'coordination.k8s.io' → coordination, 'apps' → apps. */
export const apiPackage = (group: string, version: string): string => `k8s.io.api.${group.split('.')[0] || 'core'}.${version}`;

// CustomResourceDefinitions (their messages live in k8s.io/apiextensions-apiserver, not in the descriptor) and custom
// objects (JSON only, as in Kubernetes) are refused in protobuf with a 415 that says so.
export const protobufServed = (r: { group: string; custom?: unknown }) => !r.custom && r.group !== 'apiextensions.k8s.io';

const served = RESOURCES.filter(protobufServed).map((r) => ({ apiVersion: apiVersionOf(r), kind: r.kind, message: `${apiPackage(r.group, r.version)}.${r.kind}` }));

export const PROTOBUF_KINDS: readonly ProtobufKind[] = [
  ...served,
  { apiVersion: 'v1', kind: 'Binding', message: 'k8s.io.api.core.v1.Binding' },
  { apiVersion: 'policy/v1', kind: 'Eviction', message: 'k8s.io.api.policy.v1.Eviction' },
  { apiVersion: 'autoscaling/v1', kind: 'Scale', message: 'k8s.io.api.autoscaling.v1.Scale' },
  // kubectl 1.32+ `create token` sends its TokenRequest in protobuf.
  { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', message: 'k8s.io.api.authentication.v1.TokenRequest' },
  // client-go encodes DeleteOptions in the group version of the resource it deletes.
  ...['meta.k8s.io/v1', ...new Set(served.map((k) => k.apiVersion))]
    .map((apiVersion) => ({ apiVersion, kind: 'DeleteOptions', message: `${META}.DeleteOptions` })),
];

/** The envelope every body comes in (after the `k8s\0` magic). */
export const UNKNOWN_MESSAGE = 'k8s.io.apimachinery.pkg.runtime.Unknown';

/** Messages whose JSON is their own (a Go MarshalJSON), converted whole by the decoder. */
export const OWN_JSON_MESSAGES = [
  'k8s.io.apimachinery.pkg.apis.meta.v1.Time', 'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime',
  'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1', 'k8s.io.apimachinery.pkg.api.resource.Quantity',
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  // type ExtraValue []string: a JSON array, in protobuf a message of its items.
  'k8s.io.api.authentication.v1.ExtraValue', 'k8s.io.api.certificates.v1.ExtraValue',
] as const;
