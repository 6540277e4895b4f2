// A container's environment against a real apiserver: Service variables exactly as Kubernetes names them,
// enableServiceLinks, precedence, $(VAR) expansion and the downward API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testApiServer, type TestApiServer } from '../test/harness/apiserver.ts';
import { HttpApiClient } from '../client/http-client.ts';
import type { KubeObject } from '../api/types.ts';
import { containerEnv, expand, expandCommandAndArgs, serviceEnv } from './env.ts';

describe('container environment', () => {
  const cleanups: Array<() => unknown> = [];
  let api: TestApiServer;
  let client: HttpApiClient;
  const svc = (name: string, ports: object[], extra: object = {}) => client.create({ group: '', resource: 'services' }, 'default',
    { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports, ...extra } } as KubeObject);
  before(async () => {
    api = await testApiServer({ after: (fn) => cleanups.push(fn) });
    client = new HttpApiClient({ server: api.url });
    await svc('redis-master', [{ port: 6379 }]);
    await svc('web', [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'metrics', port: 9090, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }]);
    await svc('headless', [{ port: 80 }], { clusterIP: 'None' });
    await client.create({ group: '', resource: 'configmaps' }, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { COLOR: 'blue', WEB_SERVICE_HOST: 'overridden-by-envFrom' } } as KubeObject);
  });
  after(async () => { await client.close(); for (const fn of cleanups.reverse()) await fn(); });

  const pod = (spec: object = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u-1', labels: { app: 'x' }, annotations: { note: 'hi' } }, spec: { serviceAccountName: 'default', ...spec } } as KubeObject);
  const deps = () => ({ client, nodeName: 'node-1', nodeIP: '127.0.1.1', allocatable: { cpu: '4', memory: '8Gi' } });
  const asMap = (env: { key: string; value: string }[]) => Object.fromEntries(env.map((e) => [e.key, e.value]));

  test('Service variables: Kubernetes\' names for named and unnamed ports, the Docker-link set, no headless', async () => {
    const web = await client.get({ group: '', resource: 'services' }, 'default', 'web');
    const ip = web.spec!.clusterIP as string;
    assert.deepEqual(serviceEnv(web), [
      ['WEB_SERVICE_HOST', ip], ['WEB_SERVICE_PORT', '80'], ['WEB_SERVICE_PORT_HTTP', '80'], ['WEB_SERVICE_PORT_METRICS', '9090'], ['WEB_SERVICE_PORT_DNS', '53'],
      ['WEB_PORT', `tcp://${ip}:80`],
      ['WEB_PORT_80_TCP', `tcp://${ip}:80`], ['WEB_PORT_80_TCP_PROTO', 'tcp'], ['WEB_PORT_80_TCP_PORT', '80'], ['WEB_PORT_80_TCP_ADDR', ip],
      ['WEB_PORT_9090_TCP', `tcp://${ip}:9090`], ['WEB_PORT_9090_TCP_PROTO', 'tcp'], ['WEB_PORT_9090_TCP_PORT', '9090'], ['WEB_PORT_9090_TCP_ADDR', ip],
      ['WEB_PORT_53_UDP', `udp://${ip}:53`], ['WEB_PORT_53_UDP_PROTO', 'udp'], ['WEB_PORT_53_UDP_PORT', '53'], ['WEB_PORT_53_UDP_ADDR', ip],
    ]);
    const env = asMap(await containerEnv(pod(), { name: 'c' }, '10.0.0.5', deps()));
    const redis = await client.get({ group: '', resource: 'services' }, 'default', 'redis-master');
    assert.equal(env.REDIS_MASTER_SERVICE_HOST, redis.spec!.clusterIP);
    assert.equal(env.REDIS_MASTER_SERVICE_PORT, '6379');
    assert.equal(env.REDIS_MASTER_PORT, `tcp://${redis.spec!.clusterIP}:6379`);
    assert.ok(env.KUBERNETES_SERVICE_HOST, 'the kubernetes Service');
    assert.ok(env.KUBERNETES_SERVICE_PORT);
    assert.equal(env.HEADLESS_SERVICE_HOST, undefined);
  });

  test('enableServiceLinks: false keeps only the kubernetes Service\'s variables', async () => {
    const env = asMap(await containerEnv(pod({ enableServiceLinks: false }), { name: 'c' }, '10.0.0.5', deps()));
    assert.ok(Object.keys(env).length > 0 && Object.keys(env).every((k) => k.startsWith('KUBERNETES_')), Object.keys(env).join(' '));
  });

  test('precedence, $(VAR) expansion and the downward API', async () => {
    const c = {
      name: 'c', envFrom: [{ configMapRef: { name: 'cfg' } }, { configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
      env: [
        { name: 'GREETING', value: 'color=$(COLOR) web=$(WEB_SERVICE_PORT) missing=$(NOPE) literal=$$(COLOR)' },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
        { name: 'IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
        { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'CPU_REQ_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
        { name: 'REF', value: '$(POD)-$(GREETING_NOT_YET)' },
      ],
      resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } },
      command: ['echo', '$(POD)'], args: ['$(COLOR)', '$$(COLOR)', '$(UNSET)'],
    };
    const envList = await containerEnv(pod(), c, '10.0.0.5', deps());
    const env = asMap(envList);
    assert.equal(env.COLOR, 'blue');
    assert.equal(env.CFG_COLOR, 'blue');
    assert.equal(env.WEB_SERVICE_HOST, 'overridden-by-envFrom', 'a variable the pod defines wins over the Service one');
    assert.equal(env.GREETING, 'color=blue web=80 missing=$(NOPE) literal=$(COLOR)');
    assert.deepEqual([env.POD, env.NS, env.APP, env.NOTE, env.IPS, env.HOST, env.NODE, env.SA], ['p', 'default', 'x', 'hi', '10.0.0.5', '127.0.1.1', 'node-1', 'default']);
    assert.equal(env.MEM_MI, '64');
    assert.equal(env.CPU_LIMIT, '4', 'an unset limit is the node\'s allocatable');
    assert.equal(env.CPU_REQ_M, '250');
    assert.equal(env.REF, 'p-$(GREETING_NOT_YET)');
    assert.deepEqual(expandCommandAndArgs(c, envList), { command: ['echo', 'p'], args: ['blue', '$(COLOR)', '$(UNSET)'] });
    assert.equal(expand('$', () => 'x'), '$');
    assert.equal(expand('a$(b', () => 'x'), 'a$(b');
  });
});
