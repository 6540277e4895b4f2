// The one polling helper of the tests: wait until `fn` gives a value that counts as done, and return it.
// Callers differ in how long they wait, how often they look, whether an error means "not yet", and what
// counts as done: they say so in the options, the loop is this one.

export interface UntilOptions<T> {
  /** Between tries (default 250 ms). */
  everyMs?: number;
  /** An error thrown by `fn` means "not yet", and the last one ends the timeout's message (default); false: it fails the wait. */
  retryErrors?: boolean;
  /** What counts as done (default: any truthy value). */
  done?: (v: T) => boolean;
}

type NotYet = undefined | null | false | '' | 0;

/** Poll `fn` until its value is done (truthy unless `done` says otherwise), and return it; `what` names it in the timeout. */
export async function until<T>(what: string | (() => string), fn: () => T | NotYet | Promise<T | NotYet>, ms = 60_000, opts: UntilOptions<T | NotYet> = {}): Promise<T> {
  const { everyMs = 250, retryErrors = true, done = (v) => Boolean(v) } = opts;
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (done(v)) return v as T;
    } catch (err) {
      if (!retryErrors) throw err;
      last = err;
    }
    if (Date.now() > end) {
      const why = last === undefined ? '' : `: ${last instanceof Error ? last.message : String(last)}`;
      throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
