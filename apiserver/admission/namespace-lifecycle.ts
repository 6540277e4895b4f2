// NamespaceLifecycle: nothing is created in a namespace that does not exist or is being deleted
// (registry/namespaces.ts keeps the watched cache it asks).
import type { AdmissionPlugin } from './types.ts';

export interface NamespaceGate { require(namespace: string): Promise<void> }

export function namespaceLifecycle(namespaces: NamespaceGate): AdmissionPlugin {
  return {
    name: 'NamespaceLifecycle',
    async admit({ operation, info, namespace }) {
      if (operation === 'CREATE' && info.namespaced && namespace) await namespaces.require(namespace);
    },
  };
}
