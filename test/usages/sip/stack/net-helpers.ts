/**
 * Loopback helpers for the endpoint tests: a raw UDP socket and a raw TCP connection that
 * send octets and collect what comes back, so tests can see exactly what the endpoint
 * puts on the wire.
 */
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { type Socket, connect } from 'node:net';
import { type SipMessage, SipParseError, SipResponse, SipStreamFramer, parseMessage } from '../../../../usages/sip/stack/index.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * Parses what the endpoint sent. A 400 for a malformed request echoes the request's broken
 * From / To / CSeq (RFC 3261 §8.2.6.2), which the strict parser rejects; such a response
 * is read loosely (status line and raw header values) so the tests can still check it.
 */
export function readResponse(data: Uint8Array, framing: 'datagram' | 'stream' = 'datagram'): SipMessage {
  try {
    return parseMessage(data, { framing });
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
    const text = Buffer.from(data).toString('utf8');
    const [head] = text.split('\r\n\r\n');
    const lines = head!.split('\r\n');
    const m = /^SIP\/2\.0 ([0-9]{3}) (.*)$/.exec(lines[0]!);
    if (!m) throw e;
    const res = new SipResponse(Number(m[1]), m[2]!);
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      res.headers.push({ name: line.slice(0, colon), value: line.slice(colon + 1).trim() });
    }
    return res;
  }
}
/** Writes a message with "\n" line ends as CRLF octets. */
export const crlf = (s: string): Uint8Array => enc(s.replace(/\r?\n/g, '\r\n'));

/** Collects items and lets a test wait for the next one. */
export class Inbox<T> {
  private items: T[] = [];
  private waiters: Array<(v: T | undefined) => void> = [];

  push(item: T): void {
    const w = this.waiters.shift();
    if (w) w(item);
    else this.items.push(item);
  }

  /** The next item, or undefined after `timeoutMs`. */
  next(timeoutMs = 2000): Promise<T | undefined> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(undefined);
      }, timeoutMs);
      const done = (v: T | undefined): void => {
        clearTimeout(timer);
        resolve(v);
      };
      this.waiters.push(done);
    });
  }

  get pending(): number {
    return this.items.length;
  }

  drain(): T[] {
    const out = this.items;
    this.items = [];
    return out;
  }
}

export interface RawUdp {
  port: number;
  socket: UdpSocket;
  inbox: Inbox<SipMessage>;
  send(data: Uint8Array, port: number): Promise<void>;
  close(): Promise<void>;
}

/** A bare UDP socket on 127.0.0.1 whose received datagrams are parsed into `inbox`. */
export async function rawUdp(port = 0): Promise<RawUdp> {
  const socket = createSocket('udp4');
  const inbox = new Inbox<SipMessage>();
  socket.on('message', (msg) => {
    try {
      inbox.push(readResponse(new Uint8Array(msg)));
    } catch {
      // not SIP: ignore
    }
  });
  await new Promise<void>((r) => socket.bind(port, '127.0.0.1', () => r()));
  return {
    port: socket.address().port,
    socket,
    inbox,
    send: (data, to) => new Promise((resolve, reject) => socket.send(data, to, '127.0.0.1', (e) => (e ? reject(e) : resolve()))),
    close: () => new Promise((r) => socket.close(() => r())),
  };
}

export interface RawTcp {
  socket: Socket;
  localPort: number;
  inbox: Inbox<SipMessage>;
  /** Raw octets received (keep-alive pongs included). */
  raw: Buffer[];
  closed: Promise<void>;
  write(data: Uint8Array | string): void;
}

/** A bare TCP connection to 127.0.0.1:port whose received messages are framed and parsed. */
export async function rawTcp(port: number): Promise<RawTcp> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const inbox = new Inbox<SipMessage>();
  const raw: Buffer[] = [];
  const framer = new SipStreamFramer();
  socket.on('data', (chunk: Buffer) => {
    raw.push(chunk);
    for (const ev of framer.push(new Uint8Array(chunk))) {
      if (ev.type === 'message') inbox.push(readResponse(ev.bytes, 'stream'));
    }
  });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.on('error', () => undefined);
  return { socket, localPort: socket.localPort!, inbox, raw, closed, write: (d) => void socket.write(d) };
}

/** Waits a little for the event loop (sockets) to settle. */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await pause(10);
  }
  return true;
}
