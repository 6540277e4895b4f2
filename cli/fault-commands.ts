// `kubemu kill | restart | stop-node | start-node | partition | heal | pause | resume`: the faults of
// the Cluster API (cluster/faults.ts), for people, on the cluster started from --dir.
import path from 'node:path';
import { FaultInjector } from '../cluster/faults.ts';
import { UnknownTargetError } from '../cluster/targets.ts';
import type { CliArgs } from './args.ts';
import { UserError } from '../launcher/output.ts';
import { readState } from '../launcher/state.ts';

/** Runs one fault command and prints what happened (the same words as its record and Event). */
export async function fault(args: CliArgs): Promise<void> {
  const dir = path.resolve(args.dir);
  if (!readState(dir)) throw new UserError(`no cluster in ${dir} (start one with: kubemu up --dir ${args.dir})`);
  const f = new FaultInjector(dir);
  const [target, container] = args.operands;
  const pod = { namespace: args.namespace, name: target };
  const rec = await (async () => {
    switch (args.command) {
      case 'kill': return f.kill(target, args.signal, { restart: !args.noRestart });
      case 'restart': return f.restart(target);
      case 'stop-node': return f.stopNode(target);
      case 'start-node': return f.startNode(target);
      case 'partition': return f.partitionNode(target);
      case 'heal': return f.healNode(target);
      case 'pause': return f.pauseContainer(pod, container);
      case 'resume': return f.resumeContainer(pod, container);
      default: throw new Error(`not a fault command: ${args.command}`);
    }
  })().catch((err: Error) => {
    // A component, node or pod the cluster does not have is a usage error (exit 2), like a bad flag.
    throw new UserError(err.message, err instanceof UnknownTargetError ? 2 : 1);
  });
  process.stdout.write(`${rec.message}\n`);
}
