// Every controller the manager can run, by the name --controllers takes.
import type { Controller, ControllerContext } from '../controller.ts';
import { newReplicaSetController, newReplicationController } from './replicaset.ts';
import { newDeploymentController } from './deployment.ts';

export const CONTROLLERS: Record<string, (ctx: ControllerContext) => Controller> = {
  replicaset: newReplicaSetController,
  replicationcontroller: newReplicationController,
  deployment: newDeploymentController,
};
