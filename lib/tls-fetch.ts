// fetch() to the apiserver with the cluster's TLS: the CA that verifies it and a client certificate. The CLI's
// own calls (readiness, nodes, Events) use it; without TLS options it is the plain global fetch.
import { createRequire } from 'node:module';
import type { ClientTls } from '../client/index.ts';

type Undici = typeof import('undici');
const undici = (): Undici => createRequire(import.meta.url)('undici') as Undici;
const agents = new WeakMap<ClientTls, InstanceType<Undici['Agent']>>();

export async function tlsFetch(url: string, init: RequestInit = {}, tls?: ClientTls): Promise<Response> {
  if (!tls || !url.startsWith('https:')) return fetch(url, init);
  let agent = agents.get(tls);
  if (!agent) {
    agent = new (undici().Agent)({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName } });
    agents.set(tls, agent);
  }
  return undici().fetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>;
}
