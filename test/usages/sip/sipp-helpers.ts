/**
 * Running sipp (SIPp 3.6, Debian's sip-tester) from tests, reading its message logs
 * (`-trace_msg`) back as exact octets, and finding free ports.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const SCENARIOS = fileURLToPath(new URL('./sipp/', import.meta.url));

export interface SippRun {
  code: number | null;
  output: string;
}

/** Runs sipp to completion (at most `timeoutMs`). */
export function runSipp(args: string[], timeoutMs = 40_000): Promise<SippRun> {
  return new Promise((resolve) => {
    execFile('sipp', args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, output: `${stdout}\n${stderr}` });
    });
  });
}

/** The last lines of sipp's output, for assertion messages. */
export function tail(run: SippRun, n = 600): string {
  return run.output.slice(-n).replace(/\s+/g, ' ');
}

/** One message sipp logged with -trace_msg: direction, and the exact octets. */
export interface LoggedMessage {
  direction: 'sent' | 'received';
  bytes: Buffer;
  /** First line (start line). */
  startLine: string;
  /** The body: the octets after the first empty line. */
  body: Buffer;
}

/**
 * Parses a sipp message log: blocks "----- <time>" / "UDP message sent (N bytes):" or
 * "UDP message received [N] bytes :" / empty line / exactly N octets.
 */
export function readSippLog(path: string): LoggedMessage[] {
  const data = readFileSync(path);
  const text = data.toString('latin1'); // one char per octet: offsets stay byte offsets
  const out: LoggedMessage[] = [];
  const re = /(?:UDP|TCP) message (sent|received) (?:\((\d+) bytes\)|\[(\d+)\] bytes ):\n\n/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[2] ?? m[3]);
    const start = m.index + m[0].length;
    const bytes = data.subarray(start, start + n);
    const sep = bytes.indexOf('\r\n\r\n');
    out.push({
      direction: m[1] as 'sent' | 'received',
      bytes,
      startLine: bytes.subarray(0, bytes.indexOf('\r\n')).toString('latin1'),
      body: sep < 0 ? Buffer.alloc(0) : bytes.subarray(sep + 4),
    });
    re.lastIndex = start + n;
  }
  return out;
}

/** A port free for both UDP and TCP on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
      s.on('error', reject);
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}
