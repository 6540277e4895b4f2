// Recording core/v1 Events about an object, as client-go's event recorder does (simplified:
// no aggregation of repeats).
import { randomBytes } from 'node:crypto';
import { now, type KubeObject } from '../api/types.ts';
import type { ApiClient } from './api-client.ts';
import type { Logger } from '../lib/logger.ts';

const EVENTS = { group: '', resource: 'events' };

export interface EventSource { component: string; host?: string }

export function recordEvent(client: ApiClient, logger: Logger, source: EventSource, obj: KubeObject,
  type: 'Normal' | 'Warning', reason: string, message: string): void {
  const ts = now();
  const event: KubeObject = {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: obj.metadata.namespace ?? 'default' },
    involvedObject: {
      apiVersion: obj.apiVersion ?? 'v1', kind: obj.kind ?? 'Pod', name: obj.metadata.name, namespace: obj.metadata.namespace,
      uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion,
    },
    reason, message, type, count: 1, firstTimestamp: ts, lastTimestamp: ts,
    source, reportingComponent: source.component, reportingInstance: source.host ?? '',
  };
  client.create(EVENTS, event.metadata.namespace, event).catch((err) =>
    logger.debug({ err: String(err), reason }, 'could not record event'));
}
