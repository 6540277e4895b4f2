// Fault targets by name, checked against what the cluster actually runs: a typo gets an error that
// lists the names that would have worked.
import type { ClusterState, ComponentState } from '../launcher/state.ts';

/** A component, node, pod or container name this cluster does not have (the CLI exits 2 on it). */
export class UnknownTargetError extends Error {
  readonly code = 'UnknownTarget';
}

export function findComponent(state: ClusterState, name: string): ComponentState {
  const c = state.components.find((x) => x.name === name);
  if (!c) throw new UnknownTargetError(`no component "${name}" in this cluster; components: ${state.components.map((x) => x.name).join(', ')}`);
  return c;
}

export function findNode(state: ClusterState, node: string): string {
  const nodes = state.nodes ?? [];
  if (!nodes.includes(node)) throw new UnknownTargetError(`no node "${node}" in this cluster; nodes: ${nodes.join(', ') || '(none)'}`);
  return node;
}

/** The processes that make up a node, as a machine would run them: its kubelet, then its kube-proxy. */
export function nodeComponents(state: ClusterState, node: string): ComponentState[] {
  return state.components.filter((c) => c.name === `kubelet-${node}` || c.name === `kube-proxy-${node}`);
}
