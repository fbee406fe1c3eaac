/**
 * SIP transports (RFC 3261 §18): a UDP socket (node:dgram) and a TCP listener with client
 * connections (node:net), or the same over TLS (node:tls, RFC 3261 §26.2: mutual
 * authentication with certificates, e.g. the SIP connection two RELOAD peers open after
 * AppAttach, RFC 7904 §5.1). They move octets only: a datagram is one message; a TCP or
 * TLS stream is cut into messages by {@link SipStreamFramer}. Nothing here parses headers
 * beyond framing, and no input (malformed, oversized, a failed handshake or a socket
 * error) ends a socket that other messages use.
 */
import type { KeyObject } from 'node:crypto';
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { type Server, type Socket, createServer, connect, isIPv6 } from 'node:net';
import * as tls from 'node:tls';
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

/** One TCP (or TLS) connection carrying SIP messages. */
export interface TcpConnection {
  readonly id: string;
  readonly remote: HostPort;
  readonly local: HostPort;
  readonly outbound: boolean;
  readonly open: boolean;
  /** TLS connections: the certificate the other side presented and `verifyPeer` accepted (DER). */
  readonly peerCertificate?: Uint8Array;
}

/** Certificates and checks of a TLS transport (RFC 3261 §26.2.1: mutual TLS). */
export interface SipTlsOptions {
  /** This side's certificate, DER. */
  certificate: Uint8Array;
  privateKey: KeyObject | string;
  /**
   * Trust anchors, DER. With anchors, the handshake requires a chain to them on both sides;
   * without (self-signed certificates), any certificate passes the handshake and the
   * decision rests on `verifyPeer`. Host names are never checked (certificates of RELOAD
   * peers name Node-IDs, not hosts).
   */
  ca?: readonly Uint8Array[];
  /** Judges the other side's certificate after every handshake; throws to refuse it. */
  verifyPeer?(der: Uint8Array): void;
  /** A handshake not finished after this long is abandoned, ms. @default 10000 */
  handshakeTimeoutMs?: number;
}

function derToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
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
  /** Run TLS over the connections (both directions) instead of plain TCP. */
  tls?: SipTlsOptions;
  /** A connection is up (after the TLS handshake and `verifyPeer`, for TLS). */
  onConnection?: (conn: TcpConnection) => void;
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
    readonly peerCertificate?: Uint8Array,
  ) {
    this.framer = new SipStreamFramer({ maxMessageBytes });
  }
  get open(): boolean {
    return !this.closing && !this.socket.destroyed;
  }
}

const key = (hp: HostPort): string => `${normalizeAddress(hp.host).toLowerCase()}|${hp.port}`;

/**
 * The TCP transport (or TLS, with `init.tls`): a listener plus a pool of connections,
 * reused in both directions.
 */
export class TcpTransport {
  private server?: Server;
  private bound?: HostPort;
  private readonly byId = new Map<string, Conn>();
  private readonly byRemote = new Map<string, Conn>();
  private readonly pending = new Map<string, Promise<Conn>>();
  /** Sockets still in their TLS handshake (destroyed on close). */
  private readonly handshaking = new Set<Socket>();
  private nextId = 1;
  private closed = false;
  private readonly tlsPem?: { key: string; cert: string; ca: string[] };

  constructor(private readonly init: TcpTransportInit) {
    const t = init.tls;
    if (t) {
      const k = t.privateKey;
      this.tlsPem = {
        key: typeof k === 'string' ? k : (k.export({ type: 'pkcs8', format: 'pem' }) as string),
        cert: derToPem(t.certificate),
        ca: (t.ca ?? []).map(derToPem),
      };
    }
  }

  /** Whether this transport runs TLS. */
  get secure(): boolean {
    return this.tlsPem !== undefined;
  }

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
    const server = this.tlsPem ? this.createTlsServer(this.tlsPem) : createServer((socket) => this.adopt(socket, false));
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

  /**
   * An open connection to `to` (reused when one exists, else a new one, whose TLS handshake
   * and `verifyPeer` check must pass). Rejects with SipStackError TRANSPORT_ERROR.
   */
  async connect(to: HostPort): Promise<TcpConnection> {
    if (this.closed) throw new SipStackError('STOPPED', 'transport is closed');
    const existing = this.byRemote.get(key(to));
    if (existing?.open) return existing;
    return this.connectTo(to);
  }

  /** Closes one connection (at once). Returns whether it was open. */
  closeConnection(id: string): boolean {
    const conn = this.byId.get(id);
    if (!conn) return false;
    this.drop(conn);
    return true;
  }

  /** The open connections. */
  connections(): TcpConnection[] {
    return [...this.byId.values()].filter((c) => c.open);
  }

  private connectTo(to: HostPort): Promise<Conn> {
    const k = key(to);
    const pending = this.pending.get(k);
    if (pending) return pending;
    const p = new Promise<Conn>((resolve, reject) => {
      const pem = this.tlsPem;
      const fail = (e: Error): void => reject(new SipStackError('TRANSPORT_ERROR', `connect to ${to.host}:${to.port} failed: ${e.message}`, { cause: e }));
      if (!pem) {
        const socket = connect({ host: to.host, port: to.port });
        socket.once('error', fail);
        socket.once('connect', () => {
          socket.off('error', fail);
          resolve(this.adopt(socket, true));
        });
        return;
      }
      const socket = tls.connect({
        host: to.host,
        port: to.port,
        key: pem.key,
        cert: pem.cert,
        ...(pem.ca.length > 0 ? { ca: pem.ca } : {}),
        rejectUnauthorized: pem.ca.length > 0,
        // Certificates of RELOAD peers name Node-IDs, not hosts: verifyPeer judges them.
        checkServerIdentity: () => undefined,
        minVersion: 'TLSv1.2',
      });
      this.handshaking.add(socket);
      const timer = this.init.clock.setTimeout(() => socket.destroy(new Error('TLS handshake timed out')), this.init.tls!.handshakeTimeoutMs ?? 10_000);
      const done = (): void => {
        timer.cancel();
        this.handshaking.delete(socket);
      };
      socket.once('error', (e) => {
        done();
        fail(e);
      });
      socket.once('secureConnect', () => {
        done();
        socket.removeAllListeners('error');
        let der: Uint8Array;
        try {
          der = this.judgePeer(socket);
        } catch (e) {
          socket.on('error', () => undefined);
          socket.destroy();
          fail(e as Error);
          return;
        }
        resolve(this.adopt(socket, true, der));
      });
    }).finally(() => this.pending.delete(k));
    this.pending.set(k, p);
    return p;
  }

  /** The peer's certificate (DER) once `verifyPeer` accepted it; throws otherwise. */
  private judgePeer(socket: tls.TLSSocket): Uint8Array {
    const raw = socket.getPeerCertificate(false)?.raw;
    if (!raw || raw.length === 0) throw new SipStackError('TRANSPORT_ERROR', 'the TLS peer presented no certificate');
    const der = new Uint8Array(raw);
    this.init.tls!.verifyPeer?.(der);
    return der;
  }

  private createTlsServer(pem: { key: string; cert: string; ca: string[] }): Server {
    const server = tls.createServer({
      key: pem.key,
      cert: pem.cert,
      ...(pem.ca.length > 0 ? { ca: pem.ca } : {}),
      requestCert: true,
      // With trust anchors OpenSSL enforces the client's chain; without, verifyPeer decides.
      rejectUnauthorized: pem.ca.length > 0,
      minVersion: 'TLSv1.2',
    });
    // The handshake deadline runs on the injected clock, per raw socket (keyed by the
    // remote address: the TLS socket that secureConnection hands over is another object).
    const deadlines = new Map<string, { raw: Socket; timer: TimerHandle }>();
    server.on('connection', (raw: Socket) => {
      const k = key({ host: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 });
      const entry = { raw, timer: this.init.clock.setTimeout(() => raw.destroy(), this.init.tls!.handshakeTimeoutMs ?? 10_000) };
      deadlines.set(k, entry);
      this.handshaking.add(raw);
      raw.once('close', () => {
        entry.timer.cancel();
        this.handshaking.delete(raw);
        if (deadlines.get(k) === entry) deadlines.delete(k);
      });
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const k = key({ host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
      const entry = deadlines.get(k);
      if (entry) {
        entry.timer.cancel();
        this.handshaking.delete(entry.raw);
        deadlines.delete(k);
      }
      let der: Uint8Array;
      try {
        der = this.judgePeer(socket);
      } catch (e) {
        socket.on('error', () => undefined);
        socket.destroy();
        this.init.onError(new SipStackError('TRANSPORT_ERROR', `TLS client refused: ${(e as Error).message}`, { cause: e }));
        return;
      }
      this.adopt(socket, false, der);
    });
    server.on('tlsClientError', (e: Error) => {
      this.init.onError(new SipStackError('TRANSPORT_ERROR', `TLS handshake failed: ${e.message}`, { cause: e }));
    });
    return server;
  }

  private adopt(socket: Socket, outbound: boolean, peerCertificate?: Uint8Array): Conn {
    const remote = { host: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    const local = { host: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 };
    const prefix = this.tlsPem ? 'tls' : 'tcp';
    const conn = new Conn(`${prefix}-${this.nextId++}`, socket, remote, local, outbound, this.init.maxMessageBytes, peerCertificate);
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
    try {
      this.init.onConnection?.(conn);
    } catch (e) {
      this.init.onError(e as Error);
    }
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
    for (const s of this.handshaking) s.destroy();
    this.handshaking.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
