// Structured logs with winston: one event per line, JSON unless a person is watching a terminal.
// Callers pass context as metadata (hostnetwork, table, requestId, durationMs), never secrets.
import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(level: string, format: 'auto' | 'json' | 'text', stream: NodeJS.WritableStream = process.stderr): Logger {
  const text = format === 'text' || (format === 'auto' && Boolean((stream as { isTTY?: boolean }).isTTY));
  const fmt = text
    ? winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.printf(({ timestamp, level: lvl, message, ...meta }) => {
          const extra = Object.entries(meta)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ');
          return `${String(timestamp)} ${lvl.toUpperCase().padEnd(5)} ${String(message)}${extra ? ` ${extra}` : ''}`;
        }),
      )
    : winston.format.combine(winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level,
    format: fmt,
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** A logger that drops everything, for unit tests. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
