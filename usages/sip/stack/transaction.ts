/**
 * The transaction layer (RFC 3261 §17, with the Accepted states of RFC 6026).
 *
 * Four state machines: INVITE client (§17.1.1), non-INVITE client (§17.1.2), INVITE server
 * (§17.2.1), non-INVITE server (§17.2.2), each driven by the injected Clock with timers
 * A, B, D, E, F, G, H, I, J, K (and L, M of RFC 6026). On a reliable transport the
 * retransmission timers are not started and D, I, J, K are zero. {@link TransactionLayer}
 * matches requests and responses to transactions (§17.1.3, §17.2.3, including the RFC 2543
 * fallback, ACK for non-2xx and CANCEL).
 *
 * The ACK for a 2xx is the TU's: it has its own branch, matches no transaction, and goes
 * to the TU. As a service to the TU, an INVITE server transaction that sent a 2xx keeps
 * retransmitting it on unreliable transports (T1 doubling up to T2, RFC 3261 §13.3.1.4)
 * until the TU reports the ACK (the endpoint does this when it sees one) and reports
 * 'ackTimeout' after 64*T1 without one.
 */
import type { Clock, TimerHandle } from '../../../src/common/clock.js';
import { createAckForNon2xx, createResponse } from './builders.js';
import { DEFAULT_TIMERS, type SipTimerValues, TIMER_D_UNRELIABLE_MS } from './constants.js';
import { type ListenerErrorSink, TypedEmitter, logListenerError } from './emitter.js';
import { SipStackError } from './errors.js';
import { getParam, isRfc3261Branch, parseNameAddr, viaBranch, viaSentBy } from './header-values.js';
import type { SipMessage, SipRequest, SipResponse } from './message.js';
import { formatUri } from './uri.js';

/** Hands a message to the transport; rejects on a transport error. */
export type TransactionSend = (msg: SipMessage) => Promise<void>;

export interface TransactionInit {
  clock: Clock;
  timers?: Partial<SipTimerValues>;
  /** Whether the transport is reliable (TCP, TLS, SCTP): no retransmissions. */
  reliable: boolean;
  send: TransactionSend;
  /** Called once when the transaction reaches Terminated (the layer forgets it). */
  onTerminated?: () => void;
  onListenerError?: ListenerErrorSink;
}

abstract class TransactionBase<E extends Record<string, unknown[]>> extends TypedEmitter<E & { terminated: [] }> {
  protected readonly clock: Clock;
  protected readonly t: SipTimerValues;
  readonly reliable: boolean;
  protected readonly sendFn: TransactionSend;
  private readonly onTerminatedHook: (() => void) | undefined;
  private timers = new Map<string, TimerHandle>();
  abstract get state(): string;

  constructor(init: TransactionInit) {
    super(init.onListenerError ?? logListenerError);
    this.clock = init.clock;
    this.t = { ...DEFAULT_TIMERS, ...init.timers };
    this.reliable = init.reliable;
    this.sendFn = init.send;
    this.onTerminatedHook = init.onTerminated;
  }

  get terminated(): boolean {
    return this.state === 'terminated';
  }

  protected arm(name: string, ms: number, fn: () => void): void {
    this.disarm(name);
    this.timers.set(
      name,
      this.clock.setTimeout(() => {
        this.timers.delete(name);
        fn();
      }, ms),
    );
  }

  protected disarm(...names: string[]): void {
    for (const name of names) {
      this.timers.get(name)?.cancel();
      this.timers.delete(name);
    }
  }

  /** Whether a timer is running (for tests and diagnostics). */
  hasTimer(name: string): boolean {
    return this.timers.has(name);
  }

  /** Ends the transaction at once, cancelling its timers (the endpoint is stopping). */
  terminate(): void {
    if (!this.terminated) this.enterTerminated();
  }

  protected enterTerminated(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.setTerminated();
    this.onTerminatedHook?.();
    (this.emit as (e: 'terminated') => boolean)('terminated');
  }

  protected abstract setTerminated(): void;

  /** Sends, turning a transport failure into the `onError` callback (never a rejection). */
  protected transmit(msg: SipMessage, onError: (e: Error) => void): void {
    let p: Promise<void>;
    try {
      p = this.sendFn(msg);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.catch((e: unknown) => onError(e instanceof Error ? e : new Error(String(e))));
  }
}

// ---------------------------------------------------------------------------------------------
// Client transactions

export type ClientTransactionEvents = {
  /** A 1xx response. */
  provisional: [SipResponse];
  /** A final response: once for 300-699; for every 2xx of an INVITE (retransmissions, forks; RFC 6026). */
  final: [SipResponse];
  /** Timer B or F fired without a final response (the TU treats it as 408, RFC 3261 §8.1.3.1). */
  timeout: [];
  /** The transport could not send (RFC 3261 §17.1.4: treated as 503). */
  transportError: [Error];
};

export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';
export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

abstract class ClientTransactionBase extends TransactionBase<ClientTransactionEvents> {
  /** The response that ended the transaction, once there is one. */
  finalResponseReceived?: SipResponse;
  private outcome?: Promise<SipResponse>;

  constructor(
    readonly request: SipRequest,
    init: TransactionInit,
  ) {
    super(init);
  }

  /** The branch of the top Via: the transaction id. */
  get branch(): string {
    return viaBranch(this.request.topVia()!) ?? '';
  }

  /**
   * Resolves with the first final response; rejects with SipStackError('TIMEOUT' or
   * 'TRANSPORT_ERROR'). Created on demand, so an unobserved failure is no unhandled rejection.
   */
  finalResponse(): Promise<SipResponse> {
    this.outcome ??= new Promise<SipResponse>((resolve, reject) => {
      if (this.finalResponseReceived) return resolve(this.finalResponseReceived);
      if (this.failure) return reject(this.failure);
      this.once('final', resolve);
      this.once('timeout', () => reject(new SipStackError('TIMEOUT', `no final response to ${this.request.method}`)));
      this.once('transportError', (e) => reject(new SipStackError('TRANSPORT_ERROR', e.message, { cause: e })));
    });
    // Awaiting it later must not count as an unhandled rejection in between.
    this.outcome.catch(() => undefined);
    return this.outcome;
  }

  protected failure?: SipStackError;

  protected fail(kind: 'timeout' | 'transportError', error?: Error): void {
    if (kind === 'timeout') {
      this.failure = new SipStackError('TIMEOUT', `no final response to ${this.request.method}`);
      this.emit('timeout');
    } else {
      this.failure = new SipStackError('TRANSPORT_ERROR', error!.message, { cause: error });
      this.emit('transportError', error!);
    }
    this.enterTerminated();
  }

  protected onSendError = (e: Error): void => {
    if (!this.terminated) this.fail('transportError', e);
  };

  abstract start(): void;
  abstract receiveResponse(res: SipResponse): void;
}

/** INVITE client transaction (RFC 3261 §17.1.1, Figure 5; Accepted state of RFC 6026). */
export class InviteClientTransaction extends ClientTransactionBase {
  private st: InviteClientState = 'calling';
  private ack?: SipRequest;

  get state(): InviteClientState {
    return this.st;
  }

  protected setTerminated(): void {
    this.st = 'terminated';
  }

  start(): void {
    this.transmit(this.request, this.onSendError);
    if (!this.reliable) this.armA(this.t.T1_MS);
    // Timer B: 64*T1 for every transport.
    this.arm('B', 64 * this.t.T1_MS, () => {
      if (this.st === 'calling') this.fail('timeout');
    });
  }

  private armA(interval: number): void {
    this.arm('A', interval, () => {
      if (this.st !== 'calling') return;
      this.transmit(this.request, this.onSendError);
      this.armA(interval * 2);
    });
  }

  receiveResponse(res: SipResponse): void {
    const s = res.status;
    switch (this.st) {
      case 'calling':
      case 'proceeding':
        if (s < 200) {
          this.st = 'proceeding';
          this.disarm('A', 'B');
          this.emit('provisional', res);
        } else if (s < 300) {
          // RFC 6026 §8.4: Accepted, Timer M = 64*T1; 2xx are passed to the TU.
          this.st = 'accepted';
          this.disarm('A', 'B');
          this.finalResponseReceived = res;
          this.arm('M', 64 * this.t.T1_MS, () => this.enterTerminated());
          this.emit('final', res);
        } else {
          this.st = 'completed';
          this.disarm('A', 'B');
          this.finalResponseReceived = res;
          this.ack = createAckForNon2xx(this.request, res);
          this.transmit(this.ack, this.onSendError);
          this.emit('final', res);
          if (this.reliable) {
            if (this.st === 'completed') this.enterTerminated();
          } else {
            this.arm('D', TIMER_D_UNRELIABLE_MS, () => this.enterTerminated());
          }
        }
        return;
      case 'completed':
        // A retransmitted final response: send the ACK again, do not pass it up.
        if (s >= 300 && this.ack) this.transmit(this.ack, () => undefined);
        return;
      case 'accepted':
        if (s >= 200 && s < 300) this.emit('final', res);
        return;
      case 'terminated':
        return;
    }
  }
}

/** Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6). */
export class NonInviteClientTransaction extends ClientTransactionBase {
  private st: NonInviteClientState = 'trying';

  get state(): NonInviteClientState {
    return this.st;
  }

  protected setTerminated(): void {
    this.st = 'terminated';
  }

  start(): void {
    this.transmit(this.request, this.onSendError);
    if (!this.reliable) this.armE(this.t.T1_MS);
    this.arm('F', 64 * this.t.T1_MS, () => {
      if (this.st === 'trying' || this.st === 'proceeding') this.fail('timeout');
    });
  }

  private armE(interval: number): void {
    this.arm('E', interval, () => {
      if (this.st !== 'trying' && this.st !== 'proceeding') return;
      this.transmit(this.request, this.onSendError);
      // Trying: the interval doubles up to T2; Proceeding: it is T2.
      this.armE(this.st === 'trying' ? Math.min(2 * interval, this.t.T2_MS) : this.t.T2_MS);
    });
  }

  receiveResponse(res: SipResponse): void {
    if (this.st !== 'trying' && this.st !== 'proceeding') return;
    if (res.status < 200) {
      this.st = 'proceeding';
      this.emit('provisional', res);
      return;
    }
    this.st = 'completed';
    this.disarm('E', 'F');
    this.finalResponseReceived = res;
    this.emit('final', res);
    if (this.reliable) {
      if (this.st === 'completed') this.enterTerminated();
    } else {
      this.arm('K', this.t.T4_MS, () => this.enterTerminated());
    }
  }
}

export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;

// ---------------------------------------------------------------------------------------------
// Server transactions

export type ServerTransactionEvents = {
  /** A CANCEL matched this INVITE transaction (RFC 3261 §9.2); the endpoint answered the CANCEL. */
  cancelled: [SipRequest];
  /** The ACK for a 2xx sent by this transaction arrived (it is also given to the TU as a request). */
  ack: [SipRequest];
  /** Timer H fired: no ACK for a 300-699 response (RFC 3261 §17.2.1). */
  timeout: [];
  /** 64*T1 passed after a 2xx without its ACK (RFC 3261 §13.3.1.4: the TU should send BYE). */
  ackTimeout: [];
  /** The transport could not send a response (RFC 3261 §17.2.4). */
  transportError: [Error];
};

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';
export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export interface ServerTransactionInit extends TransactionInit {
  /** The To tag this transaction's responses carry when the request has none. */
  toTag: string;
  /** Called when an INVITE transaction sends a 2xx and enters Accepted. */
  onAccepted?: (res: SipResponse) => void;
  /**
   * Whether an INVITE transaction retransmits its 2xx over unreliable transports until
   * the ACK (the UAS core's duty, RFC 3261 §13.3.1.4). A proxy forwards 2xx
   * retransmissions instead and sets this false (RFC 6026 §7.1, §8.5). @default true
   */
  retransmit2xx?: boolean;
}

abstract class ServerTransactionBase extends TransactionBase<ServerTransactionEvents> {
  readonly toTag: string;
  /** The last response sent (what a retransmitted request gets). */
  lastResponse?: SipResponse;
  protected readonly onAccepted: ((res: SipResponse) => void) | undefined;

  constructor(
    readonly request: SipRequest,
    init: ServerTransactionInit,
  ) {
    super(init);
    this.toTag = init.toTag;
    this.onAccepted = init.onAccepted;
  }

  get branch(): string | undefined {
    return viaBranch(this.request.topVia()!);
  }

  /** A response to this transaction's request with its To tag (RFC 3261 §8.2.6). */
  createResponse(status: number, reason?: string): SipResponse {
    return createResponse(this.request, status, reason === undefined ? { toTag: this.toTag } : { toTag: this.toTag, reason });
  }

  protected onSendError = (e: Error): void => {
    if (this.terminated) return;
    this.emit('transportError', e);
    this.enterTerminated();
  };

  protected checkResponse(res: SipResponse): void {
    if (res.status < 100 || res.status > 699) throw new SipStackError('INVALID_ARGUMENT', `status ${res.status} out of range`);
  }

  abstract respond(res: SipResponse): void;
  abstract receiveRequest(req: SipRequest): void;
}

/** INVITE server transaction (RFC 3261 §17.2.1, Figure 7; Accepted state of RFC 6026). */
export class InviteServerTransaction extends ServerTransactionBase {
  private st: InviteServerState = 'proceeding';
  /** Whether a CANCEL for this INVITE arrived. */
  cancelled = false;
  private ackReceived = false;
  private readonly retransmit2xx: boolean;

  constructor(request: SipRequest, init: ServerTransactionInit) {
    super(request, init);
    this.retransmit2xx = init.retransmit2xx ?? true;
  }

  get state(): InviteServerState {
    return this.st;
  }

  protected setTerminated(): void {
    this.st = 'terminated';
  }

  /** Starts the transaction: 100 Trying after 200 ms unless the TU responded first. */
  start(): void {
    this.arm('Trying', 200, () => {
      if (this.st === 'proceeding' && !this.lastResponse) this.respond(this.createResponse(100));
    });
  }

  respond(res: SipResponse): void {
    this.checkResponse(res);
    if (this.st === 'accepted' && res.status >= 200 && res.status < 300) {
      // RFC 6026 §8.7: further 2xx from the TU are passed to the transport.
      this.transmit(res, this.onSendError);
      return;
    }
    if (this.st !== 'proceeding') throw new SipStackError('INVALID_STATE', `cannot send ${res.status} in state ${this.st}`);
    this.disarm('Trying');
    this.lastResponse = res;
    this.transmit(res, this.onSendError);
    if (res.status < 200) return;
    if (res.status < 300) {
      this.st = 'accepted';
      this.onAccepted?.(res);
      this.arm('L', 64 * this.t.T1_MS, () => {
        if (!this.ackReceived) this.emit('ackTimeout');
        this.enterTerminated();
      });
      if (!this.reliable && this.retransmit2xx) this.arm2xx(this.t.T1_MS);
      return;
    }
    this.st = 'completed';
    if (!this.reliable) this.armG(this.t.T1_MS);
    this.arm('H', 64 * this.t.T1_MS, () => {
      if (this.st !== 'completed') return;
      this.emit('timeout');
      this.enterTerminated();
    });
  }

  private armG(interval: number): void {
    this.arm('G', interval, () => {
      if (this.st !== 'completed') return;
      this.transmit(this.lastResponse!, this.onSendError);
      this.armG(Math.min(2 * interval, this.t.T2_MS));
    });
  }

  /** 2xx retransmission of the UAS core (RFC 3261 §13.3.1.4), until the ACK arrives. */
  private arm2xx(interval: number): void {
    this.arm('2xx', interval, () => {
      if (this.st !== 'accepted' || this.ackReceived) return;
      this.transmit(this.lastResponse!, this.onSendError);
      this.arm2xx(Math.min(2 * interval, this.t.T2_MS));
    });
  }

  receiveRequest(req: SipRequest): void {
    if (req.method === 'ACK') {
      if (this.st === 'completed') {
        this.st = 'confirmed';
        this.disarm('G', 'H');
        if (this.reliable) this.enterTerminated();
        else this.arm('I', this.t.T4_MS, () => this.enterTerminated());
      } else if (this.st === 'accepted') {
        this.ackFor2xx(req);
      }
      return;
    }
    // A retransmitted INVITE.
    if (this.st === 'proceeding' && this.lastResponse) this.transmit(this.lastResponse, this.onSendError);
    else if (this.st === 'completed') this.transmit(this.lastResponse!, this.onSendError);
  }

  /** The ACK for this transaction's 2xx arrived: stop retransmitting the 2xx. */
  ackFor2xx(ack: SipRequest): void {
    if (this.st !== 'accepted') return;
    const first = !this.ackReceived;
    this.ackReceived = true;
    this.disarm('2xx');
    if (first) this.emit('ack', ack);
  }

  /** Marks the transaction cancelled (RFC 3261 §9.2) and tells the TU. */
  cancel(cancel: SipRequest): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled', cancel);
  }
}

/** Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8). */
export class NonInviteServerTransaction extends ServerTransactionBase {
  private st: NonInviteServerState = 'trying';

  get state(): NonInviteServerState {
    return this.st;
  }

  protected setTerminated(): void {
    this.st = 'terminated';
  }

  start(): void {}

  respond(res: SipResponse): void {
    this.checkResponse(res);
    if (this.st !== 'trying' && this.st !== 'proceeding') {
      throw new SipStackError('INVALID_STATE', `cannot send ${res.status} in state ${this.st}`);
    }
    this.lastResponse = res;
    this.transmit(res, this.onSendError);
    if (res.status < 200) {
      this.st = 'proceeding';
      return;
    }
    this.st = 'completed';
    if (this.reliable) this.enterTerminated();
    else this.arm('J', 64 * this.t.T1_MS, () => this.enterTerminated());
  }

  receiveRequest(_req: SipRequest): void {
    // A retransmission: absorbed in Trying, answered with the last response otherwise.
    if ((this.st === 'proceeding' || this.st === 'completed') && this.lastResponse) {
      this.transmit(this.lastResponse, this.onSendError);
    }
  }
}

export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;

// ---------------------------------------------------------------------------------------------
// Matching

/**
 * The server transaction key of a request (RFC 3261 §17.2.3). With an RFC 3261 branch:
 * branch, sent-by and method (ACK counts as INVITE). Without one (RFC 2543 peers): the
 * Request-URI, From tag, Call-ID, CSeq number, top Via and method; the To tag is checked
 * separately because the ACK carries the tag of the response.
 */
export function serverTransactionKey(req: SipRequest, methodOverride?: string): string {
  const via = req.topVia()!;
  const method = methodOverride ?? (req.method === 'ACK' ? 'INVITE' : req.method);
  const branch = viaBranch(via);
  if (isRfc3261Branch(branch)) return `3261 ${branch} ${viaSentBy(via)} ${method}`;
  return `2543 ${formatUri(req.uri)} ${req.fromTag() ?? ''} ${req.callId()} ${req.cseq().seq} ${req.get('Via')} ${method}`;
}

/** The client transaction key: top Via branch and CSeq method (RFC 3261 §17.1.3). */
export function clientTransactionKey(msg: SipMessage): string | undefined {
  const via = msg.topVia();
  const branch = via ? viaBranch(via) : undefined;
  if (!branch) return undefined;
  return `${branch} ${msg.cseq().method}`;
}

export interface TransactionLayerInit {
  clock: Clock;
  timers?: Partial<SipTimerValues>;
  onListenerError?: ListenerErrorSink;
  /** INVITE server transactions retransmit their 2xx (see ServerTransactionInit). @default true */
  retransmit2xx?: boolean;
}

/** Owns the live transactions and matches messages to them. */
export class TransactionLayer {
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  /** INVITE server transactions in Accepted, by Call-ID, CSeq number and To tag (2xx ACK matching). */
  private readonly accepted = new Map<string, InviteServerTransaction>();

  constructor(private readonly init: TransactionLayerInit) {}

  get clientCount(): number {
    return this.clients.size;
  }

  get serverCount(): number {
    return this.servers.size;
  }

  /** Creates and starts the client transaction for `request` (whose top Via has the branch). */
  createClient(request: SipRequest, reliable: boolean, send: TransactionSend): ClientTransaction {
    if (request.method === 'ACK') throw new SipStackError('INVALID_ARGUMENT', 'ACK creates no client transaction');
    const key = clientTransactionKey(request);
    if (!key) throw new SipStackError('INVALID_ARGUMENT', 'request has no Via branch');
    if (this.clients.has(key)) throw new SipStackError('INVALID_ARGUMENT', 'a client transaction with this branch exists');
    const init: TransactionInit = {
      clock: this.init.clock,
      reliable,
      send,
      onTerminated: () => this.clients.delete(key),
      ...(this.init.timers ? { timers: this.init.timers } : {}),
      ...(this.init.onListenerError ? { onListenerError: this.init.onListenerError } : {}),
    };
    const tx = request.method === 'INVITE' ? new InviteClientTransaction(request, init) : new NonInviteClientTransaction(request, init);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** Creates and starts the server transaction for a request that matched none. */
  createServer(request: SipRequest, reliable: boolean, send: TransactionSend, toTag: string): ServerTransaction {
    if (request.method === 'ACK') throw new SipStackError('INVALID_ARGUMENT', 'ACK creates no server transaction');
    const key = serverTransactionKey(request);
    const init: ServerTransactionInit = {
      clock: this.init.clock,
      reliable,
      send,
      toTag,
      retransmit2xx: this.init.retransmit2xx ?? true,
      onTerminated: () => {
        if (this.servers.get(key) === tx) this.servers.delete(key);
        for (const [k, v] of this.accepted) if (v === tx) this.accepted.delete(k);
      },
      ...(this.init.timers ? { timers: this.init.timers } : {}),
      ...(this.init.onListenerError ? { onListenerError: this.init.onListenerError } : {}),
    };
    if (request.method === 'INVITE') {
      init.onAccepted = (res) => {
        const tag = getParam(parseNameAddr(res.get('To')!, 'To').params, 'tag') ?? '';
        this.accepted.set(`${request.callId()} ${request.cseq().seq} ${tag}`, tx as InviteServerTransaction);
      };
    }
    const tx: ServerTransaction =
      request.method === 'INVITE' ? new InviteServerTransaction(request, init) : new NonInviteServerTransaction(request, init);
    this.servers.set(key, tx);
    tx.start();
    return tx;
  }

  /** The client transaction a response belongs to (RFC 3261 §17.1.3). */
  matchResponse(res: SipResponse): ClientTransaction | undefined {
    const key = clientTransactionKey(res);
    return key ? this.clients.get(key) : undefined;
  }

  /** The server transaction a request belongs to (RFC 3261 §17.2.3), if any. */
  matchRequest(req: SipRequest): ServerTransaction | undefined {
    const tx = this.servers.get(serverTransactionKey(req));
    if (!tx) return undefined;
    if (!isRfc3261Branch(viaBranch(req.topVia()!))) {
      // RFC 2543 matching also needs the To tag: the request's, or for an ACK the one
      // of the response the transaction sent.
      const tag = req.toTag();
      const expected = req.method === 'ACK' && tx.lastResponse ? getParam(tx.lastResponse.to().params, 'tag') ?? undefined : tx.request.toTag();
      if (tag !== expected) return undefined;
    }
    return tx;
  }

  /** The INVITE server transaction a CANCEL refers to (RFC 3261 §9.2). */
  matchCancel(cancel: SipRequest): InviteServerTransaction | undefined {
    const tx = this.servers.get(serverTransactionKey(cancel, 'INVITE'));
    return tx instanceof InviteServerTransaction ? tx : undefined;
  }

  /** The Accepted INVITE server transaction whose 2xx an ACK acknowledges, if any. */
  matchAckFor2xx(ack: SipRequest): InviteServerTransaction | undefined {
    return this.accepted.get(`${ack.callId()} ${ack.cseq().seq} ${ack.toTag() ?? ''}`);
  }

  /** Terminates every transaction (the endpoint is stopping). */
  clear(): void {
    for (const tx of [...this.clients.values(), ...this.servers.values()]) tx.terminate();
    this.clients.clear();
    this.servers.clear();
    this.accepted.clear();
  }
}
