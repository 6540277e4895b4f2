// Encryption at rest, as kube-apiserver's --encryption-provider-config: an EncryptionConfiguration
// (apiserver.config.k8s.io/v1) names, per resource, an ordered list of providers. The first provider
// encrypts every write; a read is decrypted by the provider whose prefix the stored value carries, so
// keys can be rotated (add the new key first, rewrite, drop the old one) and identity data read during
// a migration. Stored values look as Kubernetes writes them:
//   aescbc:    k8s:enc:aescbc:v1:<key>:    + IV (16) + AES-CBC ciphertext (PKCS#7 padding)
//   aesgcm:    k8s:enc:aesgcm:v1:<key>:    + nonce (12) + AES-GCM ciphertext + tag, the etcd key as additional data
//   secretbox: k8s:enc:secretbox:v1:<key>: + nonce (24) + NaCl secretbox (XSalsa20-Poly1305)
// KMS providers need a KMS plugin (a gRPC service kubemu does not ship): refused at start, never ignored.
import crypto from 'node:crypto';
import fs from 'node:fs';
import YAML from 'yaml';
import nacl from 'tweetnacl';
import { RESOURCES } from '../../api/resources.ts';
import type { ValueTransformer } from './codec.ts';

interface Key { name: string; secret: Buffer }
interface Provider {
  /** What starts a value this provider wrote ('' for identity). */
  prefixes: Array<{ prefix: Buffer; open(data: Buffer, etcdKey: string): Buffer }>;
  seal(data: Buffer, etcdKey: string): Buffer;
}

const ENCRYPTED = Buffer.from('k8s:enc:');
const AES_KEY_SIZES = [16, 24, 32];
const SECRETBOX_KEY_SIZES = [32];
const PROVIDERS = ['kms', 'aesgcm', 'aescbc', 'secretbox', 'identity'];

/** A problem in the configuration file, worded as Kubernetes' validation of it. */
export class EncryptionConfigError extends Error {}

const identity: Provider = {
  prefixes: [{
    prefix: Buffer.alloc(0),
    open(data) {
      if (data.subarray(0, ENCRYPTED.length).equals(ENCRYPTED)) throw new Error('identity transformer tried to read encrypted data');
      return data;
    },
  }],
  seal: (data) => data,
};

function aes(mode: 'aescbc' | 'aesgcm', keys: Key[]): Provider {
  const algo = (k: Key) => `aes-${k.secret.length * 8}-${mode === 'aescbc' ? 'cbc' : 'gcm'}`;
  const sealWith = (k: Key, data: Buffer, etcdKey: string): Buffer => {
    const prefix = Buffer.from(`k8s:enc:${mode}:v1:${k.name}:`);
    if (mode === 'aescbc') {
      const iv = crypto.randomBytes(16);
      const c = crypto.createCipheriv(algo(k), k.secret, iv);
      return Buffer.concat([prefix, iv, c.update(data), c.final()]);
    }
    const nonce = crypto.randomBytes(12);
    const c = crypto.createCipheriv(algo(k), k.secret, nonce) as crypto.CipherGCM;
    c.setAAD(Buffer.from(etcdKey));
    const body = Buffer.concat([c.update(data), c.final()]);
    return Buffer.concat([prefix, nonce, body, c.getAuthTag()]);
  };
  return {
    prefixes: keys.map((k) => ({
      prefix: Buffer.from(`k8s:enc:${mode}:v1:${k.name}:`),
      open(data, etcdKey) {
        if (mode === 'aescbc') {
          if (data.length < 16 || (data.length - 16) % 16 !== 0) throw new Error('the stored data is not a multiple of the block size');
          const d = crypto.createDecipheriv(algo(k), k.secret, data.subarray(0, 16));
          try { return Buffer.concat([d.update(data.subarray(16)), d.final()]); } catch { throw new Error('invalid PKCS7 data (empty or not padded)'); }
        }
        if (data.length < 12 + 16) throw new Error('the stored data was shorter than the required size');
        const d = crypto.createDecipheriv(algo(k), k.secret, data.subarray(0, 12)) as crypto.DecipherGCM;
        d.setAAD(Buffer.from(etcdKey));
        d.setAuthTag(data.subarray(data.length - 16));
        try { return Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]); } catch { throw new Error('cipher: message authentication failed'); }
      },
    })),
    seal: (data, etcdKey) => sealWith(keys[0], data, etcdKey),
  };
}

function secretbox(keys: Key[]): Provider {
  return {
    prefixes: keys.map((k) => ({
      prefix: Buffer.from(`k8s:enc:secretbox:v1:${k.name}:`),
      open(data) {
        if (data.length < 24) throw new Error('the stored data was shorter than the required size');
        const out = nacl.secretbox.open(data.subarray(24), data.subarray(0, 24), k.secret);
        if (!out) throw new Error('output array was not large enough for encryption');
        return Buffer.from(out);
      },
    })),
    seal(data) {
      const k = keys[0];
      const nonce = crypto.randomBytes(24);
      return Buffer.concat([Buffer.from(`k8s:enc:secretbox:v1:${k.name}:`), nonce, Buffer.from(nacl.secretbox(data, nonce, k.secret))]);
    },
  };
}

/** group/resource of a config entry: `secrets`, `deployments.apps`, `*.` (the core group), `*.apps`, `*.*`. */
function parseGroupResource(s: string): { group: string; resource: string } {
  const dot = s.indexOf('.');
  return dot < 0 ? { group: '', resource: s } : { group: s.slice(dot + 1), resource: s.slice(0, dot) };
}

/** Kubernetes' validation of an EncryptionConfiguration: every problem, as `path: Reason: detail`. */
function validate(cfg: any): string[] {
  const errs: string[] = [];
  const invalid = (path: string, value: unknown, why: string) => errs.push(`${path}: Invalid value: ${JSON.stringify(value)}: ${why}`);
  const required = (path: string, why: string) => errs.push(`${path}: Required value: ${why}`);
  if (cfg?.kind !== 'EncryptionConfiguration' || !['apiserver.config.k8s.io/v1', 'apiserver.config.k8s.io/v1beta1'].includes(cfg?.apiVersion)) {
    errs.push(`want apiVersion apiserver.config.k8s.io/v1 and kind EncryptionConfiguration, got ${JSON.stringify(cfg?.apiVersion)} ${JSON.stringify(cfg?.kind)}`);
    return errs;
  }
  if (!Array.isArray(cfg.resources) || !cfg.resources.length) { required('resources', 'at least one resources is required'); return errs; }
  cfg.resources.forEach((conf: any, i: number) => {
    const r = `resources[${i}].resources`, p = `resources[${i}].providers`;
    const names: string[] = Array.isArray(conf?.resources) ? conf.resources : [];
    if (!names.length) required(r, `at least one ${r} is required`);
    const parsed = names.map((n) => (typeof n === 'string' ? parseGroupResource(n) : { group: '?', resource: String(n) }));
    if (parsed.some((a, x) => parsed.some((b, y) => x !== y && a.group === b.group && a.resource === b.resource))) {
      invalid(r, names, 'the same resource cannot be specified multiple times');
    }
    if (parsed.some((a, x) => parsed.some((b, y) => x !== y && !(a.group === b.group && a.resource === b.resource) &&
      ((a.group === '*' && a.resource === '*') || (a.group === b.group && (a.resource === '*' || b.resource === '*')))))) {
      invalid(r, names, "using overlapping resources such as 'secrets' and '*.' in the same resource list is not allowed as they will be masked");
    }
    names.forEach((n, j) => {
      const path = `${r}[${j}]`;
      if (typeof n !== 'string') return invalid(path, n, 'resource name must be a string');
      const gr = parseGroupResource(n);
      if (n.toLowerCase() !== n) invalid(path, n, 'resource name should not contain capital letters');
      else if (n === '*') invalid(path, n, "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources");
      else if (['apiserveripinfo', 'serviceipallocations', 'servicenodeportallocations'].includes(n)) invalid(path, n, 'resources which do not have REST API/s cannot be encrypted');
      else if (gr.group === 'events.k8s.io') invalid(path, n, "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use 'events' instead in the config file");
      else if (gr.group === 'extensions') invalid(path, n, "'extensions' group has been removed and cannot be used for encryption");
      else if (gr.group === '*' && gr.resource !== '*') invalid(path, n, 'encrypting the same resource across groups is not supported');
    });
    const providers: any[] = Array.isArray(conf?.providers) ? conf.providers : [];
    if (!providers.length) required(p, `at least one ${p} is required`);
    providers.forEach((prov, j) => {
      const path = `${p}[${j}]`;
      const set = PROVIDERS.filter((k) => prov?.[k] !== undefined && prov?.[k] !== null);
      if (!set.length) return invalid(path, prov, 'provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity');
      if (set.length > 1) return invalid(path, prov, 'more than one provider specified in a single element, should split into different list elements');
      const kind = set[0];
      if (kind === 'kms') return invalid(`${path}.kms`, prov.kms?.name ?? '', 'KMS providers are not supported by kubemu (they need a KMS plugin); use aescbc, aesgcm or secretbox');
      if (kind === 'identity') return;
      const keysPath = `${path}.${kind}.keys`;
      const keys: any[] = Array.isArray(prov[kind]?.keys) ? prov[kind].keys : [];
      if (!keys.length) return required(keysPath, 'at least one keys is required');
      const sizes = kind === 'secretbox' ? SECRETBOX_KEY_SIZES : AES_KEY_SIZES;
      keys.forEach((k, x) => {
        const kp = `${keysPath}[${x}]`;
        if (!k?.name) required(`${kp}.name`, 'name is a mandatory field for a key');
        if (!k?.secret) return required(`${kp}.secret`, 'secret is a mandatory field for a key');
        if (typeof k.secret !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(k.secret) || k.secret.length % 4 !== 0) {
          return invalid(`${kp}.secret`, 'REDACTED', 'secrets must be base64 encoded');
        }
        const len = Buffer.from(k.secret, 'base64').length;
        if (!sizes.includes(len)) invalid(`${kp}.secret`, 'REDACTED', `secret is not of the expected length, got ${len}, expected one of [${sizes.join(' ')}]`);
      });
    });
  });
  return errs;
}

function buildProvider(prov: any): Provider {
  const kind = PROVIDERS.find((k) => prov[k] !== undefined && prov[k] !== null)!;
  if (kind === 'identity') return identity;
  const keys: Key[] = prov[kind].keys.map((k: any) => ({ name: k.name, secret: Buffer.from(k.secret, 'base64') }));
  return kind === 'secretbox' ? secretbox(keys) : aes(kind as 'aescbc' | 'aesgcm', keys);
}

/** The etcd key's group/resource: `/registry/secrets/…` (built-in), `/registry/<group>/<plural>/…` (custom). */
function groupResourceOf(etcdKey: string): { group: string; resource: string } | undefined {
  const [, , a, b] = etcdKey.split('/');
  if (!a) return undefined;
  if (a.includes('.')) return b ? { group: a, resource: b } : undefined;
  const info = RESOURCES.find((r) => r.resource === a);
  return info ? { group: info.group, resource: info.resource } : undefined;
}

/** Turn a parsed EncryptionConfiguration into the store's transformer (throws EncryptionConfigError). */
export function encryptionFromConfig(cfg: unknown): ValueTransformer & { resources: string[] } {
  const errs = validate(cfg);
  if (errs.length) throw new EncryptionConfigError(errs.join(', '));
  const exact = new Map<string, Provider[]>();
  const groupWide = new Map<string, Provider[]>();
  let everything: Provider[] | undefined;
  const resources: string[] = [];
  for (const conf of (cfg as any).resources) {
    const providers: Provider[] = conf.providers.map(buildProvider);
    for (const name of conf.resources as string[]) {
      const { group, resource } = parseGroupResource(name);
      resources.push(name);
      // The first configuration that names a resource is the one used, as in Kubernetes.
      if (group === '*' && resource === '*') everything ??= providers;
      else if (resource === '*') { if (!groupWide.has(group)) groupWide.set(group, providers); }
      else if (!exact.has(`${group}/${resource}`)) exact.set(`${group}/${resource}`, providers);
    }
  }
  const providersFor = (etcdKey: string): Provider[] | undefined => {
    const gr = groupResourceOf(etcdKey);
    if (!gr) return undefined;
    return exact.get(`${gr.group}/${gr.resource}`) ?? groupWide.get(gr.group) ?? everything;
  };
  return {
    resources,
    toStorage(etcdKey, data) {
      const providers = providersFor(etcdKey);
      return providers ? providers[0].seal(data, etcdKey) : data;
    },
    fromStorage(etcdKey, data) {
      const providers = providersFor(etcdKey);
      if (!providers) return data;
      // In the configuration's order, the first provider whose prefix the value has; identity (no prefix) declining
      // encrypted data lets a later provider read it, so identity may come first while migrating away from encryption.
      for (const c of providers.flatMap((p) => p.prefixes)) {
        if (!data.subarray(0, c.prefix.length).equals(c.prefix)) continue;
        if (!c.prefix.length) { try { return c.open(data, etcdKey); } catch { continue; } }
        return c.open(data.subarray(c.prefix.length), etcdKey);
      }
      throw new Error('no matching prefix found');
    },
  };
}

/** Read --encryption-provider-config FILE (YAML or JSON). */
export function loadEncryptionConfig(file: string): ValueTransformer & { resources: string[] } {
  let cfg: unknown;
  try {
    cfg = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EncryptionConfigError(`error while parsing file ${file}: ${(err as Error).message}`);
  }
  try {
    return encryptionFromConfig(cfg);
  } catch (err) {
    throw new EncryptionConfigError(`error while parsing file ${file}: ${(err as Error).message}`);
  }
}
