// kubemu CLI entry point: `kubemu up | down | status` (also `npm start` = up) and the fault commands.
import path from 'node:path';
import { parseCli, USAGE } from './args.ts';
import { UserError } from '../launcher/output.ts';
import { down, up } from '../launcher/up-down.ts';
import { status } from './status.ts';
import { fault } from './fault-commands.ts';
import { join } from '../launcher/join.ts';
import { images } from '../launcher/images.ts';

async function main(): Promise<number> {
  const args = parseCli(process.argv.slice(2));
  // Read where components are launched (launcher/components.ts), by this process or the supervisor it starts.
  if (args.cpuProf) process.env.KUBEMU_CPU_PROF = path.resolve(args.cpuProf);
  switch (args.command) {
    case 'help': process.stdout.write(USAGE); return 0;
    case 'up': await up(args); return 0;
    case 'down': await down(args); return 0;
    case 'status': return status(args);
    case 'join': await join({ ...args, apiserver: args.apiserver! }); return 0;
    case 'images': await images(args); return 0;
    default: await fault(args); return 0;
  }
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`kubemu: ${err instanceof UserError ? err.message : (err as Error).stack ?? err}\n`);
  process.exit(err instanceof UserError ? err.exitCode : 1);
});
