// Minimal Docker Engine API client: undici Pool over the unix socket (one Client = one connection, MEASURED.md).
import { Pool } from 'undici';
import { CriError } from '../types.ts';

export interface EngineOptions { socketPath?: string; connections?: number }

export class DockerEngine {
  readonly pool: Pool;
  constructor(opts: EngineOptions = {}) {
    this.pool = new Pool('http://docker', { socketPath: opts.socketPath ?? '/var/run/docker.sock', connections: opts.connections ?? 8 });
  }

  /** JSON request; throws CriError with Docker's message on a non-2xx status (404 → NotFound). */
  async json<T = any>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, ok: number[] = []): Promise<T> {
    const res = await this.pool.request({
      method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300 && !ok.includes(res.statusCode)) {
      let msg = text;
      try { msg = JSON.parse(text).message ?? text; } catch { /* not JSON */ }
      throw new CriError(res.statusCode === 404 ? 'NotFound' : 'Runtime', `docker ${method} ${path.split('?')[0]}: ${msg.trim()}`);
    }
    if (res.statusCode >= 300 || !text) return undefined as T; // an accepted non-2xx (e.g. 404 on delete) has no result
    return JSON.parse(text) as T;
  }

  /** Raw stream (logs): returns the body for demuxing. */
  async stream(method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await this.pool.request({
      method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.statusCode >= 300) {
      const text = await res.body.text();
      throw new CriError(res.statusCode === 404 ? 'NotFound' : 'Runtime', `docker ${method} ${path.split('?')[0]}: ${text.trim()}`);
    }
    return res.body;
  }

  close(): Promise<void> { return this.pool.close(); }
}

/** Splits Docker's multiplexed stream (8-byte header: stream type, 3 zero bytes, big-endian size) into chunks. */
export async function* demux(body: AsyncIterable<Buffer>): AsyncIterable<{ stream: 'stdout' | 'stderr'; data: Buffer }> {
  let buf = Buffer.alloc(0);
  for await (const piece of body) {
    buf = Buffer.concat([buf, piece]);
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      yield { stream: buf[0] === 2 ? 'stderr' : 'stdout', data: buf.subarray(8, 8 + size) };
      buf = buf.subarray(8 + size);
    }
  }
}
