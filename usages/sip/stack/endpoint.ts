/**
 * SipEndpoint: transports + parser + transaction layer, the API a UA, a proxy or a
 * conference focus builds on.
 *
 * Receiving (RFC 3261 §18.2.1, §18.1.2): every datagram or framed stream message is
 * parsed; a request gets `received` (and `rport`, RFC 3581) on its top Via, is matched to
 * a server transaction (retransmissions, ACK for non-2xx, CANCEL) or creates one and is
 * given to the TU as a 'request' event; a response whose top Via is not ours is dropped,
 * otherwise it goes to its client transaction or, unmatched, to 'strayResponse'.
 *
 * Malformed input: a request that fails to parse is answered with 400 and a Reason-Phrase
 * naming the problem when Via, From, To, Call-ID and CSeq are readable enough to build a
 * response (RFC 3261 §8.2, §18.3; RFC 4475 §3.1.2); anything else is dropped. Either way
 * a 'malformed' event reports it and the socket keeps serving.
 *
 * Sending: `sendRequest` adds the top Via (new branch; `rport` on UDP) and runs a client
 * transaction; responses go through server transactions or `sendResponse`, to the address
 * RFC 3261 §18.2.2 / RFC 3581 §4 give.
 */
import type { Clock } from '../../../src/common/clock.js';
import { systemClock } from '../../../src/common/clock.js';
import { type Random, cryptoRandom } from '../../../src/common/random.js';
import { createCancel, createResponse, generateBranch, generateTag } from './builders.js';
import {
  DEFAULT_MAX_FORWARDS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_SIP_PORT,
  DEFAULT_SIPS_PORT,
  DEFAULT_TIMERS,
  MAGIC_COOKIE,
  type SipTimerValues,
} from './constants.js';
import { TypedEmitter } from './emitter.js';
import { SipParseError, SipStackError } from './errors.js';
import { type Via, formatNameAddr, formatVia, getParam, parseNameAddr, parseVia, setParam, splitList, viaBranch } from './header-values.js';
import { type ReceiveInfo, type SipMessage, SipRequest, SipResponse, serializeMessage } from './message.js';
import { isSupportedVersion, parseMessage, salvageRequest } from './parser.js';
import {
  type ClientTransaction,
  InviteServerTransaction,
  type ServerTransaction,
  TransactionLayer,
} from './transaction.js';
import { type HostPort, type SipTlsOptions, type TcpConnection, TcpTransport, UdpTransport } from './transport.js';

export type SipTransportName = 'UDP' | 'TCP' | 'TLS';

/** A stream connection (TCP or TLS) of the endpoint. */
export interface SipConnectionInfo extends TcpConnection {
  readonly transport: 'TCP' | 'TLS';
}

/** Where to send a message. */
export interface SipDestination {
  transport: SipTransportName;
  host: string;
  port: number;
  /** A TCP connection to prefer (responses go back on the request's connection). */
  connectionId?: string;
}

export interface SipEndpointInit {
  clock?: Clock;
  random?: Random;
  /** UDP listener, or false for none. @default { host: '127.0.0.1', port: 0 } */
  udp?: { host?: string; port?: number } | false;
  /** TCP listener, or false for none. @default { host: '127.0.0.1', port: 0 } */
  tcp?: { host?: string; port?: number } | false;
  /**
   * TLS listener and client connections (RFC 3261 §26.2: mutual TLS with `certificate`,
   * checked by `ca` and `verifyPeer`); none unless given. Its Via sent-by port is its own.
   */
  tls?: ({ host?: string; port?: number } & SipTlsOptions) | false;
  /** Host written into Via sent-by. @default the listener's address (127.0.0.1 for a wildcard bind) */
  viaHost?: string;
  /** T1, T2, T4 in ms. @default 500, 4000, 5000 */
  timers?: Partial<SipTimerValues>;
  /** Largest message accepted, octets. @default 65535 */
  maxMessageBytes?: number;
  /**
   * Answer requests at their source port even without `rport` (RFC 3581 behaviour for
   * every request; useful behind NAT and for test tools). @default false
   */
  forceRport?: boolean;
  /** Idle TCP connections are closed after this long, ms. @default 300000 */
  tcpIdleTimeoutMs?: number;
  /** Answer a cancelled INVITE with 487 right after the 'cancelled' event. @default true */
  autoRespondToCancel?: boolean;
  /**
   * INVITE server transactions retransmit their 2xx over UDP until the ACK (a UAS core's
   * duty, RFC 3261 §13.3.1.4). A proxy sets false: it forwards the UAS's retransmissions
   * (RFC 6026 §8.5). @default true
   */
  retransmit2xx?: boolean;
}

/** A message that failed to parse. */
export interface MalformedReport {
  error: SipParseError;
  info: ReceiveInfo;
  /** The 400 sent for it, when the request could be answered. */
  response?: SipResponse;
}

/** A message that parsed but was discarded by a transport-layer rule. */
export interface DroppedReport {
  reason: string;
  message: SipMessage;
  info: ReceiveInfo;
}

export type SipEndpointEvents = {
  /**
   * A new request for the TU, with its server transaction; an ACK for a 2xx comes with
   * `undefined` (the ACK has no transaction of its own, RFC 3261 §17.1.1.3).
   */
  request: [SipRequest, ServerTransaction | undefined];
  /** A response that matched no client transaction (2xx retransmissions, stateless proxying). */
  strayResponse: [SipResponse];
  malformed: [MalformedReport];
  dropped: [DroppedReport];
  /** Socket errors and TU listener exceptions (the endpoint keeps running). */
  error: [Error];
  /** A TCP or TLS connection is up (TLS: after the handshake and `verifyPeer`), either direction. */
  connection: [SipConnectionInfo];
};

export class SipEndpoint extends TypedEmitter<SipEndpointEvents> {
  readonly clock: Clock;
  readonly random: Random;
  readonly timers: SipTimerValues;
  readonly maxMessageBytes: number;
  private readonly layer: TransactionLayer;
  private udp?: UdpTransport;
  private tcp?: TcpTransport;
  private tls?: TcpTransport;
  private viaHostName = '127.0.0.1';
  private running = false;
  private readonly tags = new WeakMap<SipRequest, string>();

  private constructor(private readonly init: SipEndpointInit) {
    super((error, event) => this.reportError(error, event));
    this.clock = init.clock ?? systemClock;
    this.random = init.random ?? cryptoRandom;
    this.timers = { ...DEFAULT_TIMERS, ...init.timers };
    this.maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.layer = new TransactionLayer({
      clock: this.clock,
      timers: this.timers,
      onListenerError: (error, event) => this.reportError(error, event),
      retransmit2xx: init.retransmit2xx ?? true,
    });
  }

  /** Creates the endpoint and binds its listeners. */
  static async start(init: SipEndpointInit = {}): Promise<SipEndpoint> {
    const ep = new SipEndpoint(init);
    await ep.bind();
    return ep;
  }

  private async bind(): Promise<void> {
    const udpOpt = this.init.udp === undefined ? {} : this.init.udp;
    const tcpOpt = this.init.tcp === undefined ? {} : this.init.tcp;
    try {
      if (udpOpt !== false) {
        this.udp = new UdpTransport({
          host: udpOpt.host ?? '127.0.0.1',
          port: udpOpt.port ?? 0,
          onDatagram: (data, source) => this.receive(data, { transport: 'UDP', source, local: this.udp!.address }, 'datagram'),
          onError: (e) => this.reportError(e, 'udp'),
        });
        await this.udp.start();
      }
      if (tcpOpt !== false) {
        this.tcp = new TcpTransport({
          host: tcpOpt.host ?? '127.0.0.1',
          port: tcpOpt.port ?? 0,
          clock: this.clock,
          maxMessageBytes: this.maxMessageBytes,
          idleTimeoutMs: this.init.tcpIdleTimeoutMs ?? 300_000,
          onMessage: (data, conn) =>
            this.receive(data, { transport: 'TCP', source: conn.remote, local: conn.local, connectionId: conn.id }, 'stream'),
          onFramingError: (error, headerBytes, conn) =>
            this.malformed(headerBytes ?? new Uint8Array(0), error, {
              transport: 'TCP',
              source: conn.remote,
              local: conn.local,
              connectionId: conn.id,
            }),
          onError: (e) => this.reportError(e, 'tcp'),
          onConnection: (conn) => this.emit('connection', connectionView(conn, 'TCP')),
        });
        await this.tcp.start();
      }
      const tlsOpt = this.init.tls;
      if (tlsOpt) {
        this.tls = new TcpTransport({
          host: tlsOpt.host ?? '127.0.0.1',
          port: tlsOpt.port ?? 0,
          clock: this.clock,
          maxMessageBytes: this.maxMessageBytes,
          idleTimeoutMs: this.init.tcpIdleTimeoutMs ?? 300_000,
          tls: tlsOpt,
          onMessage: (data, conn) =>
            this.receive(data, { transport: 'TLS', source: conn.remote, local: conn.local, connectionId: conn.id }, 'stream'),
          onFramingError: (error, headerBytes, conn) =>
            this.malformed(headerBytes ?? new Uint8Array(0), error, {
              transport: 'TLS',
              source: conn.remote,
              local: conn.local,
              connectionId: conn.id,
            }),
          onError: (e) => this.reportError(e, 'tls'),
          onConnection: (conn) => this.emit('connection', connectionView(conn, 'TLS')),
        });
        await this.tls.start();
      }
    } catch (e) {
      await this.udp?.close();
      await this.tcp?.close();
      await this.tls?.close();
      throw e;
    }
    const bound = this.udp?.address.host ?? this.tcp?.address.host ?? this.tls?.address.host ?? '127.0.0.1';
    this.viaHostName = this.init.viaHost ?? (bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound);
    this.running = true;
  }

  /** Terminates all transactions and closes the sockets. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.layer.clear();
    await this.udp?.close();
    await this.tcp?.close();
    await this.tls?.close();
  }

  get udpAddress(): HostPort | undefined {
    return this.udp?.address;
  }

  get tcpAddress(): HostPort | undefined {
    return this.tcp?.address;
  }

  get tlsAddress(): HostPort | undefined {
    return this.tls?.address;
  }

  /**
   * An open TCP or TLS connection to `to`: an existing one, else a new one (for TLS, the
   * handshake and `verifyPeer` must pass). Send on it with `SipDestination.connectionId`.
   */
  async connect(transport: 'TCP' | 'TLS', to: HostPort): Promise<SipConnectionInfo> {
    this.assertRunning();
    const t = this.transportFor(transport) as TcpTransport;
    const conn = await t.connect({ host: stripBrackets(to.host), port: to.port });
    return connectionView(conn, transport);
  }

  /** An open stream connection by id. */
  connection(id: string): SipConnectionInfo | undefined {
    for (const [transport, t] of [['TCP', this.tcp], ['TLS', this.tls]] as const) {
      const c = t?.connections().find((x) => x.id === id);
      if (c) return connectionView(c, transport);
    }
    return undefined;
  }

  /** The open connections of a stream transport. */
  connections(transport: 'TCP' | 'TLS'): SipConnectionInfo[] {
    const t = transport === 'TCP' ? this.tcp : this.tls;
    return (t?.connections() ?? []).map((c) => (connectionView(c, transport)));
  }

  /** Closes a stream connection; returns whether it was open. */
  closeConnection(id: string): boolean {
    return (this.tcp?.closeConnection(id) ?? false) || (this.tls?.closeConnection(id) ?? false);
  }

  /** The host this endpoint writes into Via sent-by. */
  get viaHost(): string {
    return this.viaHostName;
  }

  /** Live transactions (for diagnostics and tests). */
  get transactionCount(): { client: number; server: number } {
    return { client: this.layer.clientCount, server: this.layer.serverCount };
  }

  // --------------------------------------------------------------------------- sending

  /** The Via value this endpoint inserts for a transport and branch. */
  viaValue(transport: SipTransportName, branch: string): string {
    const port = this.transportFor(transport).address.port;
    return `SIP/2.0/${transport} ${this.viaHostName}:${port};branch=${branch}${transport === 'UDP' ? ';rport' : ''}`;
  }

  /**
   * Sends a request through a new client transaction (RFC 3261 §8.1.2, §17.1). The request
   * is copied; the copy gets Max-Forwards 70 when it has none and a top Via with a fresh
   * branch. Events arrive on the returned transaction.
   */
  sendRequest(request: SipRequest, dest: SipDestination): ClientTransaction {
    this.assertRunning();
    if (request.method === 'ACK') throw new SipStackError('INVALID_ARGUMENT', 'send an ACK with sendStateless');
    if (request.method === 'CANCEL') throw new SipStackError('INVALID_ARGUMENT', 'send a CANCEL with cancel()');
    const req = request.clone();
    for (const name of ['From', 'To', 'Call-ID', 'CSeq']) {
      if (!req.has(name)) throw new SipStackError('INVALID_ARGUMENT', `request has no ${name}`);
    }
    if (req.cseq().method !== req.method) throw new SipStackError('INVALID_ARGUMENT', 'CSeq method differs from the request method');
    if (!req.has('Max-Forwards')) req.set('Max-Forwards', String(DEFAULT_MAX_FORWARDS));
    req.prepend('Via', this.viaValue(dest.transport, generateBranch(this.random)));
    return this.startClient(req, dest);
  }

  private startClient(req: SipRequest, dest: SipDestination): ClientTransaction {
    return this.layer.createClient(req, dest.transport !== 'UDP', (m) => this.transmit(serializeMessage(m), dest));
  }

  /**
   * Cancels a pending request (RFC 3261 §9.1): the CANCEL is sent once the request has had
   * a provisional response, through its own client transaction. Resolves with that
   * transaction, or undefined if the request ended first (nothing left to cancel).
   */
  cancel(tx: ClientTransaction, dest: SipDestination, reason?: string): Promise<ClientTransaction | undefined> {
    this.assertRunning();
    return new Promise((resolve) => {
      const go = (): void => {
        cleanup();
        if (!this.running || tx.finalResponseReceived) return resolve(undefined);
        resolve(this.startClient(createCancel(tx.request, reason), dest));
      };
      const giveUp = (): void => {
        cleanup();
        resolve(undefined);
      };
      const cleanup = (): void => {
        tx.off('provisional', go);
        tx.off('final', giveUp);
        tx.off('terminated', giveUp);
      };
      if (tx.terminated || tx.finalResponseReceived) return resolve(undefined);
      if (tx.state === 'proceeding') return go();
      tx.on('provisional', go);
      tx.on('final', giveUp);
      tx.on('terminated', giveUp);
    });
  }

  /**
   * Sends a message outside any transaction: a request (the ACK for a 2xx, a stateless
   * proxy's forward) gets a top Via with `branch` (a fresh one by default); a response
   * goes to `dest` as it is.
   */
  async sendStateless(msg: SipMessage, dest: SipDestination, options: { branch?: string } = {}): Promise<void> {
    this.assertRunning();
    let out = msg;
    if (msg.isRequest()) {
      out = msg.clone();
      if (!out.has('Max-Forwards')) out.set('Max-Forwards', String(DEFAULT_MAX_FORWARDS));
      out.prepend('Via', this.viaValue(dest.transport, options.branch ?? generateBranch(this.random)));
    }
    await this.transmit(serializeMessage(out), dest);
  }

  /** Sends a response statelessly to where its top Via says (RFC 3261 §18.2.2). */
  async sendResponse(res: SipResponse, requestInfo?: ReceiveInfo): Promise<void> {
    this.assertRunning();
    await this.transmit(serializeMessage(res), this.responseDestination(res, requestInfo));
  }

  /**
   * A response to `req` (RFC 3261 §8.2.6): Via, From, To, Call-ID, CSeq copied, a To tag
   * added when the request has none (the same tag for every response to that request).
   */
  createResponse(req: SipRequest, status: number, reason?: string): SipResponse {
    let tag = this.tags.get(req);
    if (!tag) {
      tag = generateTag(this.random);
      this.tags.set(req, tag);
    }
    return createResponse(req, status, reason === undefined ? { toTag: tag } : { toTag: tag, reason });
  }

  /**
   * Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4): on a reliable transport, the
   * request's connection if still open, else `received` (or sent-by) and the sent-by
   * port; on UDP, `maddr` if present, else `received` (or sent-by) with the `rport` port,
   * else the sent-by port, else 5060.
   */
  responseDestination(res: SipResponse, info?: ReceiveInfo): SipDestination {
    const via = res.topVia();
    if (!via) throw new SipStackError('INVALID_ARGUMENT', 'response has no Via');
    // The response leaves on the transport the request came in on (§18.2.2), else the Via's.
    const transport = info ? info.transport : this.transportOfVia(via.transport);
    const received = getParam(via.params, 'received') ?? undefined;
    if (transport !== 'UDP') {
      const dest: SipDestination = { transport, host: stripBrackets(received ?? via.host), port: via.port ?? (transport === 'TLS' ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT) };
      if (info?.connectionId) dest.connectionId = info.connectionId;
      return dest;
    }
    const maddr = getParam(via.params, 'maddr');
    if (maddr) return { transport, host: maddr, port: via.port ?? DEFAULT_SIP_PORT };
    const rport = getParam(via.params, 'rport');
    let port = via.port ?? DEFAULT_SIP_PORT;
    if (rport) port = Number(rport);
    else if (this.init.forceRport && info) port = info.source.port;
    const host = this.init.forceRport && info ? info.source.host : (received ?? via.host);
    return { transport, host: stripBrackets(host), port };
  }

  private transportOfVia(viaTransport: string): SipTransportName {
    if (viaTransport === 'UDP' || viaTransport === 'TCP' || viaTransport === 'TLS') return viaTransport;
    throw new SipStackError('NO_TRANSPORT', `no ${viaTransport} transport`);
  }

  private transportFor(name: SipTransportName): UdpTransport | TcpTransport {
    const t = name === 'UDP' ? this.udp : name === 'TCP' ? this.tcp : this.tls;
    if (!t) throw new SipStackError('NO_TRANSPORT', `the endpoint has no ${name} transport`);
    return t;
  }

  private async transmit(data: Uint8Array, dest: SipDestination): Promise<void> {
    if (!this.running) throw new SipStackError('STOPPED', 'endpoint stopped');
    if (dest.transport === 'UDP') {
      await (this.transportFor('UDP') as UdpTransport).send(data, { host: stripBrackets(dest.host), port: dest.port });
    } else {
      await (this.transportFor(dest.transport) as TcpTransport).send(data, { host: stripBrackets(dest.host), port: dest.port }, dest.connectionId);
    }
  }

  private assertRunning(): void {
    if (!this.running) throw new SipStackError('STOPPED', 'endpoint stopped');
  }

  // --------------------------------------------------------------------------- receiving

  private receive(data: Uint8Array, info: ReceiveInfo, framing: 'datagram' | 'stream'): void {
    if (!this.running) return;
    let msg: SipMessage;
    try {
      msg = parseMessage(data, { maxMessageBytes: this.maxMessageBytes, framing });
    } catch (e) {
      if (!(e instanceof SipParseError)) return this.reportError(e, 'parse');
      if (e.reason === 'EMPTY_MESSAGE') return; // CRLF keep-alives
      void this.malformed(data, e, info);
      return;
    }
    msg.received = info;
    try {
      if (msg.isRequest()) this.receiveRequest(msg, info);
      else this.receiveResponse(msg as SipResponse, info);
    } catch (e) {
      this.reportError(e, 'receive');
    }
  }

  /** Answers an unparseable request with 400 when possible (see the module comment). */
  private async malformed(data: Uint8Array, error: SipParseError, info: ReceiveInfo): Promise<void> {
    const report: MalformedReport = { error, info };
    const s = salvageRequest(data);
    if (s) {
      const res = new SipResponse(400, badRequestReason(error));
      for (const v of responseVias(s.viaLines, s.topVia)) res.headers.push({ name: 'Via', value: v });
      res.headers.push({ name: 'From', value: s.from });
      res.headers.push({ name: 'To', value: withToTag(s.to, generateTag(this.random)) });
      res.headers.push({ name: 'Call-ID', value: s.callId });
      res.headers.push({ name: 'CSeq', value: s.cseq });
      const viaPort = s.topVia.port ?? DEFAULT_SIP_PORT;
      const usesSourcePort = getParam(s.topVia.params, 'rport') !== undefined || this.init.forceRport || info.transport !== 'UDP';
      const dest: SipDestination = {
        transport: info.transport,
        host: info.source.host,
        port: usesSourcePort ? info.source.port : viaPort,
      };
      if (info.connectionId) dest.connectionId = info.connectionId;
      try {
        await this.transmit(serializeMessage(res), dest);
        report.response = res;
      } catch (e) {
        this.reportError(e, 'send');
      }
    }
    this.emit('malformed', report);
  }

  private receiveRequest(req: SipRequest, info: ReceiveInfo): void {
    // RFC 3261 §18.2.1 and RFC 3581 §4: record where the request really came from.
    const via = req.topVia()!;
    const rport = getParam(via.params, 'rport');
    if (stripBrackets(via.host) !== info.source.host || rport !== undefined) setParam(via.params, 'received', info.source.host);
    if (rport === null) setParam(via.params, 'rport', String(info.source.port));
    req.headers[req.headers.findIndex((h) => h.name === 'Via')]!.value = formatVia(via);

    if (!isSupportedVersion(req.version)) {
      if (req.method !== 'ACK') this.respondStateless(req, 505);
      return;
    }
    if (viaBranch(via) === MAGIC_COOKIE) {
      // RFC 4475 §3.2.1: the magic cookie but no transaction identifier.
      if (req.method !== 'ACK') this.respondStateless(req, 400, 'Bad Request - Via branch has no transaction identifier after z9hG4bK');
      return;
    }

    const tx = this.layer.matchRequest(req);
    if (tx) {
      if (req.method === 'ACK' && tx instanceof InviteServerTransaction && tx.state === 'accepted') {
        tx.ackFor2xx(req);
        this.emit('request', req, undefined);
      } else {
        tx.receiveRequest(req);
      }
      return;
    }
    if (req.method === 'ACK') {
      // The ACK for a 2xx: stop the 2xx retransmissions, then hand it to the TU.
      this.layer.matchAckFor2xx(req)?.ackFor2xx(req);
      this.emit('request', req, undefined);
      return;
    }
    const serverTx = this.createServer(req, info);
    if (req.method === 'CANCEL') {
      // RFC 3261 §9.2: answer the CANCEL itself; tell the INVITE transaction.
      const invite = this.layer.matchCancel(req);
      if (!invite) {
        serverTx.respond(serverTx.createResponse(481));
        return;
      }
      serverTx.respond(serverTx.createResponse(200));
      invite.cancel(req);
      if ((this.init.autoRespondToCancel ?? true) && invite.state === 'proceeding') invite.respond(invite.createResponse(487));
      return;
    }
    if (!this.emit('request', req, serverTx)) serverTx.respond(serverTx.createResponse(501));
  }

  private createServer(req: SipRequest, info: ReceiveInfo): ServerTransaction {
    const tag = generateTag(this.random);
    this.tags.set(req, tag);
    const reliable = info.transport !== 'UDP';
    return this.layer.createServer(
      req,
      reliable,
      (m) => this.transmit(serializeMessage(m), this.responseDestination(m as SipResponse, info)),
      tag,
    );
  }

  private respondStateless(req: SipRequest, status: number, reason?: string): void {
    const res = this.createResponse(req, status, reason);
    this.sendResponse(res, req.received).catch((e: unknown) => this.reportError(e, 'send'));
  }

  private receiveResponse(res: SipResponse, info: ReceiveInfo): void {
    if (!isSupportedVersion(res.version)) {
      this.emit('dropped', { reason: `unsupported version ${res.version}`, message: res, info });
      return;
    }
    // RFC 3261 §18.1.2: the top Via must be the value this endpoint inserted.
    const via = res.topVia()!;
    if (!this.isOwnSentBy(via.host, via.port)) {
      this.emit('dropped', { reason: 'top Via sent-by is not this endpoint (RFC 3261 §18.1.2)', message: res, info });
      return;
    }
    const tx = this.layer.matchResponse(res);
    if (tx) tx.receiveResponse(res);
    else this.emit('strayResponse', res);
  }

  private isOwnSentBy(host: string, port: number | undefined): boolean {
    if (host.toLowerCase() !== this.viaHostName.toLowerCase()) return false;
    const p = port ?? DEFAULT_SIP_PORT;
    return p === this.udp?.address.port || p === this.tcp?.address.port || p === this.tls?.address.port;
  }

  private reportError(error: unknown, where: string): void {
    const e = error instanceof Error ? error : new Error(String(error));
    if (where === 'error') {
      console.error('SIP endpoint: an error listener threw:', e);
      return;
    }
    if (!this.emit('error', e)) console.error(`SIP endpoint (${where}):`, e);
  }
}

/** A read-only view of a transport connection (`open` stays live). */
function connectionView(c: TcpConnection, transport: 'TCP' | 'TLS'): SipConnectionInfo {
  return {
    id: c.id,
    transport,
    remote: c.remote,
    local: c.local,
    outbound: c.outbound,
    get open() {
      return c.open;
    },
    ...(c.peerCertificate ? { peerCertificate: c.peerCertificate } : {}),
  };
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** "Bad Request - <what is wrong>", limited to Reason-Phrase characters (RFC 3261 §25.1). */
export function badRequestReason(error: SipParseError): string {
  const text = error.message.replace(/[^\x20-\x7e]/g, '?');
  return `Bad Request - ${text.length > 120 ? text.slice(0, 117) + '...' : text}`;
}

/**
 * The Via values of a 400 for a malformed request: copied as received (RFC 3261
 * §8.2.6.2) where they parse; a malformed topmost value is replaced by its leniently read
 * sent-protocol, sent-by and parameters (what the response is routed and matched by), and
 * other malformed values are left out, so that the 400 itself is well-formed.
 */
function responseVias(lines: string[], topVia: Via): string[] {
  const out: string[] = [];
  lines.forEach((line, n) => {
    let values: string[];
    try {
      values = splitList(line, 'Via');
    } catch {
      values = [];
    }
    values.forEach((v, i) => {
      let ok = true;
      try {
        parseVia(v);
      } catch {
        ok = false;
      }
      if (ok) out.push(v);
      else if (n === 0 && i === 0) out.push(formatVia(topVia));
    });
    if (n === 0 && values.length === 0) out.push(formatVia(topVia));
  });
  return out;
}

/** Adds a To tag to a raw To value when it parses and has none; otherwise keeps it as is. */
function withToTag(to: string, tag: string): string {
  try {
    const na = parseNameAddr(to, 'To');
    if (getParam(na.params, 'tag') !== undefined) return to;
    setParam(na.params, 'tag', tag);
    return formatNameAddr(na);
  } catch {
    return to;
  }
}
