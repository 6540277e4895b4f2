// A fake runtime running one pod, default/web (uid u1), with a started container c: what a kubelet API server
// under test serves logs, exec and port-forward for.
import { FakeRuntime } from '../../kubelet/cri/fake/runtime.ts';
import { LABELS } from '../../kubelet/cri/types.ts';

export async function runtimeWithWebPod(): Promise<{ runtime: FakeRuntime; pod: { metadata: { name: string; namespace: string; uid: string } } }> {
  const runtime = new FakeRuntime();
  const pod = { metadata: { name: 'web', namespace: 'default', uid: 'u1' } };
  const sandbox = await runtime.runPodSandbox({ metadata: { ...pod.metadata, attempt: 0 } } as any);
  await runtime.pullImage('busybox');
  const id = await runtime.createContainer(sandbox, {
    metadata: { name: 'c', attempt: 0 } as any, image: 'busybox',
    labels: { [LABELS.podUid]: 'u1', [LABELS.containerName]: 'c', [LABELS.restartCount]: '0' },
  }, {} as any);
  await runtime.startContainer(id);
  return { runtime, pod };
}
