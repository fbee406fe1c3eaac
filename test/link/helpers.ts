/** Test helpers for the link layer: recording handlers, raw UDP/TCP peers, polling. */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { Connection, LinkAddress, LinkError, LinkHandlers, LinkHint, OversizedMessage } from '../../src/link/types.js';

export interface Recorded extends LinkHandlers {
  connections: Connection[];
  /** `bytes` is the whole message; `pieces` 2 when it came as a gather list (memory link). */
  messages: { conn: Connection; text: string; bytes: Uint8Array; pieces: 1 | 2 }[];
  closes: { conn: Connection; reason: string }[];
  hints: { conn: Connection; hint: LinkHint }[];
  errors: LinkError[];
  oversized: { conn: Connection; info: OversizedMessage }[];
}

/** Handlers that record every callback. `onTooLarge` optionally answers an oversized message. */
export function recorder(onTooLarge?: (conn: Connection, info: OversizedMessage) => void | Promise<void>): Recorded {
  const r: Recorded = {
    connections: [],
    messages: [],
    closes: [],
    hints: [],
    errors: [],
    oversized: [],
    onConnection: (conn) => void r.connections.push(conn),
    onMessage: (conn, message, tail) => {
      const bytes = tail === undefined ? message : new Uint8Array(Buffer.concat([message, tail]));
      r.messages.push({ conn, text: Buffer.from(bytes).toString('latin1'), bytes, pieces: tail === undefined ? 1 : 2 });
    },
    onClose: (conn, reason) => void r.closes.push({ conn, reason }),
    onLinkHint: (conn, hint) => void r.hints.push({ conn, hint }),
    onError: (e) => void r.errors.push(e),
    onMessageTooLarge: (conn, info) => {
      r.oversized.push({ conn, info });
      return onTooLarge?.(conn, info);
    },
  };
  return r;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` in real time until it holds (or fails after `ms`). */
export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A raw UDP socket acting as the peer, to observe and forge exact frames. */
export class RawUdpPeer {
  readonly received: { bytes: Uint8Array; from: LinkAddress }[] = [];
  private taken = 0;
  private constructor(
    readonly socket: dgram.Socket,
    readonly address: LinkAddress,
  ) {}

  static async open(): Promise<RawUdpPeer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const a = socket.address();
    const peer = new RawUdpPeer(socket, { host: a.address, port: a.port });
    socket.on('message', (msg, rinfo) => peer.received.push({ bytes: new Uint8Array(msg), from: { host: rinfo.address, port: rinfo.port } }));
    return peer;
  }

  /** The next datagram not yet taken. */
  async next(ms = 3000): Promise<{ bytes: Uint8Array; from: LinkAddress }> {
    await waitFor(() => this.received.length > this.taken, ms, 'a datagram');
    return this.received[this.taken++]!;
  }

  /** True if no new datagram arrives within `ms` (real time). */
  async quiet(ms = 40): Promise<boolean> {
    const before = this.received.length;
    await sleep(ms);
    return this.received.length === before;
  }

  send(bytes: Uint8Array | string, to: LinkAddress): Promise<void> {
    const b = typeof bytes === 'string' ? Buffer.from(bytes, 'hex') : bytes;
    return new Promise((r, j) => this.socket.send(b, to.port, to.host, (e) => (e ? j(e) : r())));
  }

  close(): void {
    this.socket.close();
  }
}

/** Collects the bytes of a stream socket. */
export class StreamSink {
  chunks: Buffer[] = [];
  ended = false;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => this.chunks.push(c));
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => {});
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  get hex(): string {
    return this.bytes.toString('hex');
  }
}

/** A raw TCP server accepting one connection, to play the peer of a TcpTransport. */
export async function rawTcpServer(): Promise<{ address: LinkAddress; accepted: Promise<StreamSink>; close: () => void }> {
  let resolve!: (s: StreamSink) => void;
  const accepted = new Promise<StreamSink>((r) => (resolve = r));
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    resolve(new StreamSink(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address() as net.AddressInfo;
  return { address: { host: a.address, port: a.port }, accepted, close: () => server.close() };
}

/** Writes `bytes` one byte per write, waiting for each write to be flushed. */
export async function writeByteByByte(socket: net.Socket, bytes: Uint8Array, pauseMs = 1): Promise<void> {
  for (const b of bytes) {
    await new Promise<void>((r, j) => socket.write(Buffer.from([b]), (e) => (e ? j(e) : r())));
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

export { sleep };
