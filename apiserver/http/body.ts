// Request bodies: read with a size limit (413 without reading it all), then decode by
// Content-Type — JSON, YAML, Kubernetes protobuf, and the four PATCH types.
import type http from 'node:http';
import { createRequire } from 'node:module';
import { ApiError } from '../../api/errors.ts';
import type { PatchType } from '../registry/types.ts';
import { decodeKubernetesProtobuf } from './protobuf.ts';

/** yaml, loaded on the first YAML body (kubectl sends JSON): ~6 MB the apiserver does not carry otherwise. */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml');

export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

const tooLarge = (limit: number) => new ApiError('RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);

export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) { failed = true; reject(tooLarge(limit)); return; }
      chunks.push(c);
    });
    req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks)); });
    req.on('error', (err) => { if (!failed) { failed = true; reject(err); } });
  });
}

export const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0].trim().toLowerCase();

function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new ApiError('BadRequest', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (json parse error: ${(err as Error).message})`);
  }
}

function parseYaml(buf: Buffer): unknown {
  let docs;
  try {
    docs = yaml().parseAllDocuments(buf.toString('utf8'));
  } catch (err) {
    throw new ApiError('BadRequest', `yaml: ${(err as Error).message}`);
  }
  const bad = docs.find((d) => d.errors.length > 0);
  if (bad) throw new ApiError('BadRequest', `yaml: ${bad.errors[0].message.split('\n')[0]}`);
  if (docs.length > 1) throw new ApiError('BadRequest', 'the body must hold a single YAML document');
  return docs[0]?.toJS() ?? null;
}

/** A POST or PUT body as an object. */
export function decodeObject(contentType: string | undefined, buf: Buffer): unknown {
  const type = mediaType(contentType);
  if (buf.length === 0) throw new ApiError('BadRequest', 'the request body is empty');
  switch (type) {
    case '': case 'application/json': case '*/*': return parseJson(buf);
    case 'application/yaml': case 'application/x-yaml': case 'text/yaml': return parseYaml(buf);
    case 'application/vnd.kubernetes.protobuf': return decodeKubernetesProtobuf(buf);
    default:
      throw new ApiError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
  }
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export function decodePatch(contentType: string | undefined, buf: Buffer): { type: PatchType; patch: unknown } {
  const type = PATCH_TYPES[mediaType(contentType)];
  if (!type) {
    throw new ApiError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`);
  }
  if (buf.length === 0) throw new ApiError('BadRequest', 'the patch body is empty');
  return { type, patch: type === 'apply' ? parseYaml(buf) : parseJson(buf) };
}

/** DELETE may carry DeleteOptions as a JSON body; empty is fine. */
export function decodeOptional(contentType: string | undefined, buf: Buffer): Record<string, any> {
  if (buf.length === 0) return {};
  const v = decodeObject(contentType, buf);
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ApiError('BadRequest', 'DeleteOptions must be a JSON object');
  return v as Record<string, any>;
}
