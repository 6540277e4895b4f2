// What the launcher reports and how it fails, shared by the CLI (prints lines, exits with the code) and
// the Cluster library (passes lines on or drops them, rethrows).

/** A failure whose message tells the user what to do as it stands: printed without a stack, exit code as given. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) { super(message); }
}

/** Where up and down report progress, a line at a time: the CLI prints it, a Cluster passes it on or drops it. */
export type Output = (line: string) => void;

export const defaultOutput: Output = (msg) => process.stdout.write(`${msg}\n`);
