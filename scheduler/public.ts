// What the controller manager uses of the scheduler, and nothing else outside scheduler/ may: whether a
// node takes a pod as the scheduler judges it (the DaemonSet controller decides where daemon pods go the same way).
export { effectiveTaints, matchesNodeSelectorAndAffinity, tolerates } from './node-match.ts';
