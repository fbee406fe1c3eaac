/**
 * Structured logs for the command line: pino, JSON lines by default, a compact
 * human-readable line on a terminal. `--log-level` picks the level.
 */
import { pino, type DestinationStream } from 'pino';
import type { Logger } from '../common/log.js';
import { UsageError } from './command.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function humanStream(out: NodeJS.WritableStream): DestinationStream {
  const names: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
  return {
    write(line: string) {
      try {
        const { level, time, msg, pid: _pid, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>;
        const t = new Date(time as number).toISOString().slice(11, 23);
        const extra = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        out.write(`${t} ${names[level as number] ?? level} ${msg as string}${extra ? `  ${extra}` : ''}\n`);
      } catch {
        out.write(line);
      }
    },
  };
}

/** A Logger for `level`, writing to stderr (stdout stays for command output). */
export function createLogger(level: string, out: NodeJS.WritableStream = process.stderr): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}; got "${level}"`);
  }
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  const p = pino({ level, base: undefined }, tty ? humanStream(out) : (out as unknown as DestinationStream));
  return wrap(p);
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    child: (bindings) => wrap(p.child(bindings)),
  };
}
