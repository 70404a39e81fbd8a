import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

/** Paths never written to a log: credentials and session tokens. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'password',
  '*.password',
  '*.old_password',
  '*.new_password',
  'session_id',
  '*.session_id',
  'token',
  '*.token',
  // body parsers attach the raw body to their errors: it may hold a password
  'err.body',
];

/** The one root logger; components take `logger.child({ component })`. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'messenger' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/**
 * Readable lines for a person at a terminal (pino-pretty), for development only: production and
 * anything piped keep one JSON object per line. Loaded on demand, so production never imports it.
 */
export async function prettyDestination(output?: NodeJS.WritableStream): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    colorize: output === undefined,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    ...(output && { destination: output, sync: true }),
  });
}

/** The process's logger: pretty in development at a terminal, JSON lines everywhere else. */
export async function createProcessLogger(config: { logLevel: LogLevel; env: string }): Promise<Logger> {
  const pretty = config.env === 'development' && process.stdout.isTTY === true;
  return createLogger(config.logLevel, pretty ? await prettyDestination() : undefined);
}
