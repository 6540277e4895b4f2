// kubemu CLI entry point: `kubemu up | down | status` (also `npm start` = up).
import { parseCli, USAGE } from './args.ts';
import { CliError, down, status, up } from './commands.ts';

async function main(): Promise<number> {
  const args = parseCli(process.argv.slice(2));
  switch (args.command) {
    case 'help': process.stdout.write(USAGE); return 0;
    case 'up': await up(args); return 0;
    case 'down': await down(args); return 0;
    case 'status': return status(args);
  }
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`kubemu: ${err instanceof CliError ? err.message : (err as Error).stack ?? err}\n`);
  process.exit(err instanceof CliError ? err.exitCode : 1);
});
