/**
 * Options shared by the commands that run a node (start, and the client commands):
 * parsing `tls:HOST:PORT`-style listen specs and HOST:PORT bootstrap addresses.
 */
import type { LinkAddress, TransportKind } from '../link/types.js';
import type { ListenSpec } from '../node/create.js';
import { UsageError } from './command.js';

const KINDS: readonly TransportKind[] = ['tls', 'udp', 'tcp'];

/** HOST:PORT (IPv6 as [addr]:port). */
export function parseHostPort(text: string, what: string, defaultPort?: number): LinkAddress {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text);
  const m = v6 ?? /^([^:\s]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new UsageError(`${what} must be HOST:PORT, got "${text}"`);
  const port = m[2] !== undefined ? Number(m[2]) : defaultPort;
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${what} needs a port 0-65535, got "${text}"`);
  }
  return { host: m[1]!, port };
}

/** `tls:HOST:PORT`, `udp:HOST:PORT` or `tcp:HOST:PORT` (kind defaults to tls). */
export function parseListen(text: string): ListenSpec {
  const i = text.indexOf(':');
  const maybeKind = i > 0 ? text.slice(0, i) : '';
  if ((KINDS as readonly string[]).includes(maybeKind)) {
    const a = parseHostPort(text.slice(i + 1), '--listen');
    return { kind: maybeKind as TransportKind, host: a.host, port: a.port };
  }
  const a = parseHostPort(text, '--listen');
  return { kind: 'tls', host: a.host, port: a.port };
}

export function asArray(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/** Waits for SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
