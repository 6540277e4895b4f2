// root-ca-cert-publisher over a real apiserver: kube-root-ca.crt in every namespace with the CA and Kubernetes'
// description annotation, put back when edited or deleted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApiClient, type ApiClient } from '../../client/index.ts';
import { silentLogger } from '../../lib/logger.ts';
import { testApiServer } from '../../test/harness/apiserver.ts';
import { until } from '../../test/harness/until.ts';
import { ControllerManager } from '../manager.ts';
import { DESCRIPTION, DESCRIPTION_ANNOTATION } from './root-ca-cert-publisher.ts';

const CM = { group: '', resource: 'configmaps' };
const CA = '-----BEGIN CERTIFICATE-----\nnot parsed by the controller\n-----END CERTIFICATE-----\n';

describe('root-ca-cert-publisher', () => {
  const cleanups: Array<() => unknown> = [];
  let client: ApiClient;
  before(async () => {
    const api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    client = createApiClient({ transport: 'grpc', server: api.grpcAddress });
    const stop = new AbortController();
    const run = new ControllerManager({ client, logger: silentLogger(), controllers: ['root-ca-cert-publisher'], timings: { rootCA: CA } }).run(stop.signal);
    cleanups.push(async () => { stop.abort(); await run; });
  });
  after(async () => { for (const fn of cleanups.reverse()) await fn(); await client?.close(); });

  const published = (ns: string) => until(`kube-root-ca.crt in ${ns}`, async () => {
    const cm = await client.get(CM, ns, 'kube-root-ca.crt').catch(() => undefined);
    return cm && (cm as any).data?.['ca.crt'] === CA ? cm : undefined;
  }, 30_000);

  test('every namespace, old and new, gets the CA with the description annotation', async () => {
    for (const ns of ['default', 'kube-system']) {
      const cm = await published(ns);
      assert.equal(cm.metadata.annotations?.[DESCRIPTION_ANNOTATION], DESCRIPTION);
      assert.deepEqual((cm as any).data, { 'ca.crt': CA });
    }
    await client.create({ group: '', resource: 'namespaces' }, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-ca' } });
    await published('team-ca');
  });

  test('an edited or deleted one is put back', async () => {
    const cm = await published('default');
    await client.update(CM, 'default', { ...cm, data: { 'ca.crt': 'mine', extra: 'x' } } as never);
    const back = await published('default');
    assert.deepEqual((back as any).data, { 'ca.crt': CA });
    await client.delete(CM, 'default', 'kube-root-ca.crt');
    const again = await published('default');
    assert.notEqual(again.metadata.uid, back.metadata.uid);
  });
});
