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
  transport: 'UDP' | 'TCP';
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
  const re = /(UDP|TCP) message (sent|received) (?:\((\d+) bytes\)|\[(\d+)\] bytes ):\n\n/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[3] ?? m[4]);
    const start = m.index + m[0].length;
    const bytes = data.subarray(start, start + n);
    const sep = bytes.indexOf('\r\n\r\n');
    out.push({
      direction: m[2] as 'sent' | 'received',
      transport: m[1] as 'UDP' | 'TCP',
      bytes,
      startLine: bytes.subarray(0, bytes.indexOf('\r\n')).toString('latin1'),
      body: sep < 0 ? Buffer.alloc(0) : bytes.subarray(sep + 4),
    });
    re.lastIndex = start + n;
  }
  return out;
}

/** Whether something has `port` bound on 127.0.0.1 for this transport: binding it ourselves fails. */
export function portTaken(port: number, transport: 'UDP' | 'TCP'): Promise<boolean> {
  return new Promise((resolve) => {
    if (transport === 'UDP') {
      const u = createSocket('udp4');
      u.once('error', () => resolve(true));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(false)));
    } else {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    }
  });
}

/**
 * Starts a sipp UAS listening on `port` and resolves once it listens (`done`: its run).
 * Readiness is probed by binding the port; should a probe hold the port at the moment sipp
 * binds it, sipp exits at once and is started again.
 */
export async function startSippUas(args: string[], port: number, transport: 'UDP' | 'TCP', timeoutMs = 10_000): Promise<{ done: Promise<SippRun> }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let exited: SippRun | undefined;
    const run = runSipp(args).then((r) => (exited = r));
    while (!exited && !(await portTaken(port, transport))) {
      if (Date.now() > end) throw new Error(`sipp did not listen on ${transport} port ${port} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // A sipp that lost the race for its port has exited (or is about to) with an error.
    await new Promise((r) => setTimeout(r, 100));
    if (!exited) return { done: run }; // wrapped: an async function would adopt (await) `run` itself
    if (Date.now() > end) throw new Error(`sipp UAS on ${transport} port ${port} exited at start: ${tail(exited)}`);
  }
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
