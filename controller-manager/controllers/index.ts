// Every controller the manager can run, by the name --controllers takes.
import type { Controller, ControllerContext } from '../controller.ts';
import { newReplicaSetController, newReplicationController } from './replicaset.ts';
import { newDeploymentController } from './deployment.ts';
import { newJobController } from './job.ts';
import { newCronJobController } from './cronjob.ts';
import { newDaemonSetController } from './daemonset.ts';
import { newStatefulSetController } from './statefulset.ts';
import { newEndpointsController } from './endpoints.ts';
import { newNodeLifecycleController } from './node-lifecycle.ts';
import { newGarbageCollector } from './garbage-collector.ts';
import { newServiceLoadBalancerController } from './service-lb.ts';
import { newServiceAccountsController } from './serviceaccount.ts';
import { newRootCACertPublisher } from './root-ca-cert-publisher.ts';
import { newServiceAccountTokenController } from './serviceaccount-token.ts';
import { newPersistentVolumeController } from './persistentvolume.ts';
import { newEphemeralVolumeController } from './ephemeral-volume.ts';
import { newDisruptionController } from './disruption.ts';
import { newResourceQuotaController } from './resourcequota.ts';
import { newCsrSigningController } from './csr-signing.ts';
import { newCsrApprovingController } from './csr-approving.ts';
import { newCsrCleanerController } from './csr-cleaner.ts';
import { newTokenCleanerController } from './token-cleaner.ts';

export const CONTROLLERS: Record<string, (ctx: ControllerContext) => Controller | undefined> = {
  replicaset: newReplicaSetController,
  replicationcontroller: newReplicationController,
  deployment: newDeploymentController,
  job: (ctx) => newJobController(ctx),
  cronjob: (ctx) => newCronJobController(ctx),
  daemonset: newDaemonSetController,
  statefulset: newStatefulSetController,
  endpoint: newEndpointsController,
  nodelifecycle: newNodeLifecycleController,
  garbagecollector: newGarbageCollector,
  'service-lb-controller': newServiceLoadBalancerController,
  serviceaccount: newServiceAccountsController,
  'root-ca-cert-publisher': newRootCACertPublisher,
  'serviceaccount-token': newServiceAccountTokenController,
  'persistentvolume-binder': newPersistentVolumeController,
  'ephemeral-volume': newEphemeralVolumeController,
  disruption: newDisruptionController,
  resourcequota: newResourceQuotaController,
  csrsigning: newCsrSigningController,
  csrapproving: newCsrApprovingController,
  csrcleaner: newCsrCleanerController,
  tokencleaner: newTokenCleanerController,
};
