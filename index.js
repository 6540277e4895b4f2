// The kubemu package's main entry, for plain Node: `import { Cluster, waitForDeployment } from 'kubemu'`.
// kubemu is TypeScript run through tsx; tsImport loads it with a loader scoped to this import, so the
// importing program's own module resolution is left as it was.
import { tsImport } from 'tsx/esm/api';

const api = await tsImport('./cluster/index.ts', import.meta.url);

export const { Cluster, waitFor, waitForDeployment, waitForDaemonSet, waitForJob, UnknownTargetError, createApiClient } = api;
