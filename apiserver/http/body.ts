// Request bodies: read with a size limit (413, after draining what the client sends), then decode by
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

/**
 * A body over the limit is still read to its end (and thrown away), up to DRAIN_MAX_BYTES and DRAIN_MAX_MS, before
 * the 413: closing a socket the client is still writing to resets the connection, and the client never sees the
 * answer. Beyond those bounds the connection is closed (a client that sends that much is not waiting for one).
 */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 10_000;

export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > limit;
    let done = false;
    const finish = (err?: Error, body?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err); else resolve(body!);
    };
    const giveUp = () => { finish(tooLarge(limit)); req.socket.destroy(); };
    const timer = setTimeout(() => { if (over) giveUp(); }, DRAIN_MAX_MS);
    timer.unref();
    if (over && declared > DRAIN_MAX_BYTES) { giveUp(); return; }
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) { if (size > DRAIN_MAX_BYTES) giveUp(); return; }
      if (size > limit) { over = true; chunks.length = 0; return; }
      chunks.push(c);
    });
    req.on('end', () => (over ? finish(tooLarge(limit)) : finish(undefined, Buffer.concat(chunks))));
    req.on('error', (err) => finish(err));
  });
}

export const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0].trim().toLowerCase();

/** Kubernetes' decoders (encoding/json, yaml) stop at this nesting depth; deeper bodies are a 400. */
export const MAX_NESTING_DEPTH = 10_000;

/** The deepest nesting of objects and arrays in a JSON text, found without recursion (a scan of brackets). */
function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) { if (++depth > max) max = depth; }
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** The same for a decoded value (YAML), iteratively. */
function valueDepth(v: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    if (d > max) max = d;
    if (max > MAX_NESTING_DEPTH) return max;
    for (const child of Object.values(x)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

function parseJson(buf: Buffer): unknown {
  const text = buf.toString('utf8');
  if (jsonDepth(text) > MAX_NESTING_DEPTH) {
    throw new ApiError('BadRequest', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (json parse error: exceeded max depth of ${MAX_NESTING_DEPTH})`);
  }
  try {
    return JSON.parse(text);
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
  let value: unknown;
  try {
    // yaml refuses more than 100 alias expansions (a "billion laughs" bomb) as go-yaml does.
    value = docs[0]?.toJS({ maxAliasCount: 100 }) ?? null;
  } catch (err) {
    const msg = (err as Error).message;
    if (/alias/i.test(msg)) throw new ApiError('BadRequest', 'yaml: document contains excessive aliasing');
    if (err instanceof RangeError) throw new ApiError('BadRequest', `yaml: exceeded max depth of ${MAX_NESTING_DEPTH}`);
    throw new ApiError('BadRequest', `yaml: ${msg.split('\n')[0]}`);
  }
  if (valueDepth(value) > MAX_NESTING_DEPTH) throw new ApiError('BadRequest', `yaml: exceeded max depth of ${MAX_NESTING_DEPTH}`);
  return value;
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
