// The kubemu package's API (`import { Cluster, waitForDeployment } from 'kubemu'`, via ../index.js).
export { Cluster, type ClusterOptions, type ComponentInfo, type FaultRecord, type FaultAction, type KillOptions, type KillSignal, type PodRef } from './cluster.ts';
export { waitFor, waitForDeployment, waitForDaemonSet, waitForJob, type WaitOptions } from './wait.ts';
export { UnknownTargetError } from './targets.ts';
export { createApiClient, type ApiClient } from '../client/index.ts';
