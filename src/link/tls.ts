/**
 * RELOAD over TLS over TCP with the framed header — TLS-TCP-FH (RFC 6940 §6.6.3.2, wire
 * digest §9; framing and failure detection in src/link/stream.ts).
 *
 * Mutual authentication with the overlay's certificates (RFC 6940 §13): both sides present
 * their RELOAD certificate. With trust anchors (`ca`, the configuration's root-cert) the
 * server requests and requires a client certificate chained to them and the client checks
 * the server's chain; host names are not checked (RELOAD certificates name Node-IDs, not
 * hosts). Overlays of self-signed certificates pass no roots: the handshake then accepts any
 * certificate and the decision rests on `verifyPeer`. After every handshake, on both sides,
 * `verifyPeer(peerDer)` runs (the node passes CertificateStore.check: chain, validity,
 * bad-node list, self-signed Node-ID binding); if it throws, the connection is closed and
 * reported through `onError` (inbound) or a rejected `connect` (outbound). A peer that
 * presents no certificate is refused the same way. `Connection.peerCertificate` holds the
 * accepted DER.
 *
 * TLS 1.3 caveat: the client finishes its handshake before the server has judged the client
 * certificate, so a client refused by the server sees `connect` resolve and then
 * `onClose` at once, when the server's alert arrives.
 *
 * SSLKEYLOGFILE: when `keylogFile` is given (or, if it is left undefined, the environment
 * variable SSLKEYLOGFILE is set) every TLS secret line of both client and server sockets is
 * appended to that file in NSS key-log format, so Wireshark can decrypt captures. Never enable
 * it in production.
 */
import { appendFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import * as tls from 'node:tls';
import type { TimerHandle } from '../common/clock.js';
import { addressKey, reportError } from './common.js';
import { type StreamLinkOptions, StreamTransport } from './stream.js';
import { type LinkAddress, LinkError, type LinkErrorReason } from './types.js';

export interface TlsTransportOptions extends StreamLinkOptions {
  /** This node's certificate, DER. */
  certificate: Uint8Array;
  /** Its private key (KeyObject, or PEM text). */
  privateKey: KeyObject | string;
  /** Trust anchors (DER); empty for an overlay of self-signed certificates. */
  ca: readonly Uint8Array[];
  /** Judges the peer's certificate after the handshake; throws to refuse it. */
  verifyPeer(der: Uint8Array): void;
  /**
   * NSS key-log file for Wireshark. undefined: use process.env.SSLKEYLOGFILE if set;
   * false: never log.
   */
  keylogFile?: string | false;
  /** Lowest TLS version accepted. @default 'TLSv1.2' */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** PEM text of a DER certificate. */
export function derToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** Errors raised before TCP connected: the dial failed, not the handshake. */
const CONNECT_SYSCALLS = new Set(['connect', 'getaddrinfo']);

export class TlsTransport extends StreamTransport {
  readonly kind = 'tls' as const;
  private readonly key: string;
  private readonly cert: string;
  private readonly caPem: string[];
  private readonly keylogPath: string | undefined;
  private keylogFailed = false;

  constructor(readonly tlsOptions: TlsTransportOptions) {
    super(tlsOptions);
    const k = tlsOptions.privateKey;
    this.key = typeof k === 'string' ? k : (k.export({ type: 'pkcs8', format: 'pem' }) as string);
    this.cert = derToPem(tlsOptions.certificate);
    this.caPem = tlsOptions.ca.map(derToPem);
    const kl = tlsOptions.keylogFile;
    this.keylogPath = kl === false ? undefined : (kl ?? (process.env['SSLKEYLOGFILE'] || undefined));
  }

  /** The key-log file in use, if any. */
  get keylogFile(): string | undefined {
    return this.keylogPath;
  }

  protected createServer(): Server {
    const server = tls.createServer({
      key: this.key,
      cert: this.cert,
      ...(this.caPem.length > 0 ? { ca: this.caPem } : {}),
      requestCert: true,
      // With roots, OpenSSL enforces the chain; self-signed overlays rely on verifyPeer.
      rejectUnauthorized: this.caPem.length > 0,
      minVersion: this.tlsOptions.minVersion ?? 'TLSv1.2',
    });
    // Handshake deadline on the injected clock, keyed by the TCP endpoint. Sockets still in
    // their handshake are `pending`, so closing the transport destroys them.
    const handshakes = new Map<string, { raw: Socket; timer: TimerHandle }>();
    server.on('connection', (raw: Socket) => {
      const key = addressKey({ host: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 });
      const timer = this.clock.setTimeout(() => raw.destroy(), this.handshakeTimeoutMs);
      const entry = { raw, timer };
      handshakes.set(key, entry);
      this.pending.add(raw);
      raw.once('close', () => {
        timer.cancel();
        this.pending.delete(raw);
        if (handshakes.get(key) === entry) handshakes.delete(key);
      });
    });
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const key = addressKey({ host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
      const entry = handshakes.get(key);
      if (entry) {
        entry.timer.cancel();
        this.pending.delete(entry.raw);
        handshakes.delete(key);
      }
      this.accept(socket);
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      reportError(
        this.handlers,
        new LinkError(`TLS handshake refused: ${err.code ?? err.message}`, {
          cause: err,
          reason: 'handshake-failed',
          remote: { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
        }),
      );
    });
    if (this.keylogPath) server.on('keylog', (line: Buffer) => this.keylog(line));
    return server;
  }

  protected dial(address: LinkAddress): { socket: Socket; ready: 'secureConnect' } {
    const socket = tls.connect({
      host: address.host,
      port: address.port,
      key: this.key,
      cert: this.cert,
      ...(this.caPem.length > 0 ? { ca: this.caPem } : {}),
      rejectUnauthorized: this.caPem.length > 0,
      // RELOAD certificates carry Node-IDs, not host names (RFC 6940 §13.3).
      checkServerIdentity: () => undefined,
      minVersion: this.tlsOptions.minVersion ?? 'TLSv1.2',
    });
    if (this.keylogPath) socket.on('keylog', (line: Buffer) => this.keylog(line));
    return { socket, ready: 'secureConnect' };
  }

  protected authenticate(socket: Socket, remote: LinkAddress): Uint8Array {
    const peer = (socket as tls.TLSSocket).getPeerCertificate(false) as Partial<tls.PeerCertificate> | null;
    if (!peer || !peer.raw || peer.raw.length === 0) {
      throw new LinkError('peer presented no certificate', { reason: 'peer-refused', remote });
    }
    const der = new Uint8Array(peer.raw);
    try {
      this.tlsOptions.verifyPeer(der);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new LinkError(`peer certificate refused: ${detail}`, { cause: err, reason: 'peer-refused', remote });
    }
    return der;
  }

  protected classify(err: NodeJS.ErrnoException): LinkErrorReason {
    return err.syscall !== undefined && CONNECT_SYSCALLS.has(err.syscall) ? 'connect-failed' : 'handshake-failed';
  }

  private keylog(line: Buffer): void {
    if (!this.keylogPath || this.keylogFailed) return;
    try {
      appendFileSync(this.keylogPath, line);
    } catch (err) {
      this.keylogFailed = true;
      reportError(this.handlers, new LinkError(`cannot write the TLS key log ${this.keylogPath}`, { cause: err }));
    }
  }
}
