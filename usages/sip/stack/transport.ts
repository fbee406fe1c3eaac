/**
 * SIP transports (RFC 3261 §18): a UDP socket (node:dgram) and a TCP listener with client
 * connections (node:net). They move octets only: a datagram is one message; a TCP stream
 * is cut into messages by {@link SipStreamFramer}. Nothing here parses headers beyond
 * framing, and no input (malformed, oversized, or a socket error) ends a socket that
 * other messages use.
 */
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { type Server, type Socket, createServer, connect, isIPv6 } from 'node:net';
import type { Clock, TimerHandle } from '../../../src/common/clock.js';
import { SipStackError } from './errors.js';
import { type FramerEvent, SipStreamFramer } from './parser.js';
import type { SipParseError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

/** "::ffff:127.0.0.1" → "127.0.0.1" (IPv4-mapped addresses from dual-stack sockets). */
export function normalizeAddress(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

// ---------------------------------------------------------------------------------------------

export interface UdpTransportInit {
  host: string;
  port: number;
  /** One datagram arrived. */
  onDatagram: (data: Uint8Array, source: HostPort) => void;
  /** A socket-level error (the socket stays open). */
  onError: (error: Error) => void;
}

/** The UDP transport: one socket that receives requests and responses and sends both. */
export class UdpTransport {
  private socket?: UdpSocket;
  private bound?: HostPort;

  constructor(private readonly init: UdpTransportInit) {}

  get address(): HostPort {
    if (!this.bound) throw new SipStackError('INVALID_STATE', 'UDP transport not started');
    return this.bound;
  }

  async start(): Promise<HostPort> {
    const socket = createSocket({ type: isIPv6(this.init.host) ? 'udp6' : 'udp4' });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      this.init.onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), {
        host: normalizeAddress(rinfo.address),
        port: rinfo.port,
      });
    });
    socket.on('error', (e) => this.init.onError(e));
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      socket.once('error', onError);
      socket.bind(this.init.port, this.init.host, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const a = socket.address();
    this.bound = { host: normalizeAddress(a.address), port: a.port };
    return this.bound;
  }

  send(data: Uint8Array, to: HostPort): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new SipStackError('STOPPED', 'UDP transport is closed'));
    return new Promise((resolve, reject) => {
      try {
        socket.send(data, to.port, to.host, (err) => (err ? reject(err) : resolve()));
      } catch (e) {
        reject(e);
      }
    });
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------

/** One TCP connection carrying SIP messages. */
export interface TcpConnection {
  readonly id: string;
  readonly remote: HostPort;
  readonly local: HostPort;
  readonly outbound: boolean;
  readonly open: boolean;
}

export interface TcpTransportInit {
  host: string;
  port: number;
  clock: Clock;
  maxMessageBytes: number;
  /** Idle connections are closed after this long, ms. */
  idleTimeoutMs: number;
  /** A complete message was framed. */
  onMessage: (data: Uint8Array, conn: TcpConnection) => void;
  /** The stream could not be framed (RFC 4475 §3.1.2.3): the connection closes after this returns. */
  onFramingError: (error: SipParseError, headerBytes: Uint8Array | undefined, conn: TcpConnection) => Promise<void> | void;
  onError: (error: Error) => void;
}

class Conn implements TcpConnection {
  readonly framer: SipStreamFramer;
  idle?: TimerHandle;
  closing = false;
  constructor(
    readonly id: string,
    readonly socket: Socket,
    readonly remote: HostPort,
    readonly local: HostPort,
    readonly outbound: boolean,
    maxMessageBytes: number,
  ) {
    this.framer = new SipStreamFramer({ maxMessageBytes });
  }
  get open(): boolean {
    return !this.closing && !this.socket.destroyed;
  }
}

const key = (hp: HostPort): string => `${normalizeAddress(hp.host).toLowerCase()}|${hp.port}`;

/** The TCP transport: a listener plus a pool of connections, reused in both directions. */
export class TcpTransport {
  private server?: Server;
  private bound?: HostPort;
  private readonly byId = new Map<string, Conn>();
  private readonly byRemote = new Map<string, Conn>();
  private readonly pending = new Map<string, Promise<Conn>>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly init: TcpTransportInit) {}

  get address(): HostPort {
    if (!this.bound) throw new SipStackError('INVALID_STATE', 'TCP transport not started');
    return this.bound;
  }

  get connectionCount(): number {
    return this.byId.size;
  }

  connection(id: string): TcpConnection | undefined {
    return this.byId.get(id);
  }

  async start(): Promise<HostPort> {
    const server = createServer((socket) => this.adopt(socket, false));
    this.server = server;
    server.on('error', (e) => this.init.onError(e));
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      server.once('error', onError);
      server.listen(this.init.port, this.init.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const a = server.address();
    if (a === null || typeof a === 'string') throw new SipStackError('INVALID_STATE', 'TCP listener has no address');
    this.bound = { host: normalizeAddress(a.address), port: a.port };
    return this.bound;
  }

  /**
   * Sends on the connection `connectionId` if it is open, else on an open connection to
   * `to`, else on a new connection to `to` (RFC 3261 §18.1.1, §18.2.2).
   */
  async send(data: Uint8Array, to: HostPort, connectionId?: string): Promise<void> {
    if (this.closed) throw new SipStackError('STOPPED', 'TCP transport is closed');
    let conn = connectionId !== undefined ? this.byId.get(connectionId) : undefined;
    if (!conn || !conn.open) conn = this.byRemote.get(key(to));
    if (!conn || !conn.open) conn = await this.connectTo(to);
    await this.write(conn, data);
  }

  private write(conn: Conn, data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!conn.open) return reject(new SipStackError('TRANSPORT_ERROR', 'connection closed'));
      this.touch(conn);
      conn.socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  private connectTo(to: HostPort): Promise<Conn> {
    const k = key(to);
    const pending = this.pending.get(k);
    if (pending) return pending;
    const p = new Promise<Conn>((resolve, reject) => {
      const socket = connect({ host: to.host, port: to.port });
      const onError = (e: Error): void => reject(new SipStackError('TRANSPORT_ERROR', `connect to ${to.host}:${to.port} failed: ${e.message}`, { cause: e }));
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(this.adopt(socket, true));
      });
    }).finally(() => this.pending.delete(k));
    this.pending.set(k, p);
    return p;
  }

  private adopt(socket: Socket, outbound: boolean): Conn {
    const remote = { host: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    const local = { host: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 };
    const conn = new Conn(`tcp-${this.nextId++}`, socket, remote, local, outbound, this.init.maxMessageBytes);
    if (this.closed) {
      socket.destroy();
      return conn;
    }
    this.byId.set(conn.id, conn);
    this.byRemote.set(key(remote), conn);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.touch(conn);
      let events: FramerEvent[];
      try {
        events = conn.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (e) {
        this.init.onError(e as Error);
        this.drop(conn);
        return;
      }
      for (const ev of events) {
        if (ev.type === 'message') this.init.onMessage(ev.bytes, conn);
        else if (ev.type === 'keepalive') {
          // RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong.
          if (conn.open) conn.socket.write('\r\n');
        } else {
          // The framer ignores everything after an error; the handler may still answer
          // (a 400) on this connection before it is closed.
          Promise.resolve()
            .then(() => this.init.onFramingError(ev.error, ev.headerBytes, conn))
            .catch((e: unknown) => this.init.onError(e as Error))
            .finally(() => this.drop(conn, true));
        }
      }
    });
    socket.on('error', (e) => {
      // ECONNRESET and the like end this connection only.
      if (!conn.closing) this.init.onError(e);
      this.drop(conn);
    });
    socket.on('close', () => this.forget(conn));
    this.touch(conn);
    return conn;
  }

  private touch(conn: Conn): void {
    conn.idle?.cancel();
    conn.idle = this.init.clock.setTimeout(() => this.drop(conn, true), this.init.idleTimeoutMs);
  }

  /** Closes a connection: gracefully (flushing what was written) or at once. */
  private drop(conn: Conn, graceful = false): void {
    conn.closing = true;
    conn.idle?.cancel();
    if (graceful) conn.socket.end();
    else conn.socket.destroy();
    this.forget(conn);
  }

  private forget(conn: Conn): void {
    conn.idle?.cancel();
    if (this.byId.get(conn.id) === conn) this.byId.delete(conn.id);
    const k = key(conn.remote);
    if (this.byRemote.get(k) === conn) this.byRemote.delete(k);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const conn of [...this.byId.values()]) this.drop(conn);
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
