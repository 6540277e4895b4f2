// pino loggers with stable fields: one root per process (component=…), children per part.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(component: string, opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const level = opts.level ?? process.env.KUBEMU_LOG_LEVEL ?? 'info';
  return opts.destination
    ? pino({ level, base: { component } }, opts.destination)
    : pino({ level, base: { component } });
}

/** A logger that drops everything (tests that do not assert on logs). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
