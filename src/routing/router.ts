/**
 * The forwarding engine (RFC 6940 §6.1-§6.2): receives messages from links, forwards the
 * ones for others on the forwarding header alone (symmetric recursive routing: the
 * previous hop is appended to the Via List of requests), delivers the ones for this node
 * (reassembly, signature check, dispatch), and originates requests with end-to-end
 * retransmission. Responses retrace the path: Destination List = previous hop followed by
 * the reversed Via List.
 */
import type { Clock } from '../common/clock.js';
import { ReloadError, ReloadErrorResponse } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Random } from '../common/random.js';
import type { Connection } from '../link/types.js';
import type { OverlayParameters } from '../node/parameters.js';
import type { Signer } from '../security/signer.js';
import type { CertificateStore } from '../security/trust.js';
import { type SignerInfo, verifyMessage } from '../security/verifier.js';
import type { TopologyPlugin } from '../../topology/plugin.js';
import { DecodeError, Reader, Writer, bytesEqual, encode, toHex, utf8 } from '../wire/codec.js';
import {
  ErrorCode,
  FORWARDING_HEADER_FIXED_SIZE,
  FRAGMENT_OFFSET_MASK,
  FRAGMENT_UNFRAGMENTED,
  ForwardingFlag,
  MessageCode,
  RELOAD_VERSION,
  isRequestCode,
} from '../wire/constants.js';
import { type Destination, destinationsEqual } from '../wire/destination.js';
import { errorResponse } from '../wire/error.js';
import { type ForwardingHeader, type ForwardingOption, forwardingHeader } from '../wire/forwarding-header.js';
import { FRAGMENT_VIA_HEADROOM, Reassembler, fragmentMessage } from '../wire/fragment.js';
import { encodeViaEntry, rewriteHeader } from '../wire/forward.js';
import { isWildcardNodeId, wildcardNodeId } from '../wire/ids.js';
import {
  type DecodedMessage,
  type MessageExtension,
  assembleMessage,
  isWholeMessage,
  messageContents,
} from '../wire/message.js';
import { ConnectionTable, type LinkEntry } from './connection-table.js';
import { MessageBytes, joinPieces } from './message-bytes.js';
import { type Answer, DuplicateCache, TransactionTable } from './transactions.js';
import { DUPLICATE_WINDOW_MS } from '../node/parameters.js';

/** A request delivered to this node, signature verified. */
export interface IncomingRequest {
  message: DecodedMessage;
  signer: SignerInfo;
  /** The link it arrived on; undefined for requests this node sent to itself. */
  link: LinkEntry | undefined;
  /** True when it came straight from its signer over `link` (empty Via List). */
  direct: boolean;
}

export interface HandlerResult {
  code: number;
  body: Uint8Array;
  extensions?: MessageExtension[];
  /** Certificates to carry besides the signer's (e.g. those of fetched values). */
  certificates?: Uint8Array[];
}

export type RequestHandler = (req: IncomingRequest) => Promise<HandlerResult>;

export interface RequestOptions {
  extensions?: MessageExtension[];
  options?: ForwardingOption[];
  maxResponseLength?: number;
  signal?: AbortSignal;
  /** Send on this link regardless of routing (e.g. the first Attach through a bootstrap link). */
  viaLink?: LinkEntry;
  /** Skip the origin check of the answer (requests to the wildcard Node-ID). */
  anyResponder?: boolean;
  /** Certificates to carry besides our own (e.g. the signers of replicated values). */
  certificates?: Uint8Array[];
  /**
   * Sign the request with this Signer instead of the node's own: a usage acting for another
   * local identity (RFC 7904 registrations of the users a SIP front end holds; the storing
   * peer checks the StoreReq signer under USER-NODE-MATCH, RFC 6940 §7.4.1.1).
   */
  signer?: Signer;
  /**
   * configuration_sequence to put in the header instead of ours: 65535 for a ConfigUpdate
   * to a node with an older configuration (RFC 6940 §6.5.4: always accepted).
   */
  configurationSequence?: number;
  /**
   * Accept an ErrorResponse signed by any node, not only by the destination: diagnostics
   * want the intermediate peer's error (RFC 7851 §5.3).
   */
  acceptPathErrors?: boolean;
}

export interface RouterInit {
  params: OverlayParameters;
  overlayHash: number;
  signer: Signer;
  certificates: CertificateStore;
  clock: Clock;
  random: Random;
  isPeer: boolean;
  log: Logger;
  /** Forwarding option types this node understands. */
  knownForwardingOptions?: ReadonlySet<number>;
  /** Message extension types this node understands. */
  knownExtensions?: ReadonlySet<number>;
}

/** Counters for the status page and diagnostics. */
export interface RouterStats {
  received: number;
  forwarded: number;
  delivered: number;
  originated: number;
  dropped: number;
  decodeErrors: number;
  signatureFailures: number;
  errorsSent: number;
  bytesIn: number;
  bytesOut: number;
  /** Per message code: [sent, received]. */
  byCode: Map<number, [number, number]>;
}

export class Router {
  readonly table = new ConnectionTable();
  readonly stats: RouterStats = {
    received: 0,
    forwarded: 0,
    delivered: 0,
    originated: 0,
    dropped: 0,
    decodeErrors: 0,
    signatureFailures: 0,
    errorsSent: 0,
    bytesIn: 0,
    bytesOut: 0,
    byCode: new Map(),
  };
  topology: TopologyPlugin | undefined;
  handler: RequestHandler | undefined;
  /** Called when a link's Node-ID becomes known. */
  onLinkBound: ((entry: LinkEntry) => void) | undefined;
  /**
   * Called when a request arrives with an older configuration sequence than ours; the node
   * then sends the requester a ConfigUpdate (RFC 6940 §6.3.2.1).
   */
  onStaleConfiguration: ((nodeId: Uint8Array, viaLink?: LinkEntry) => Promise<void> | void) | undefined;
  /** Default link for clients: the peer they route everything through. */
  gateway: LinkEntry | undefined;
  /**
   * Observes every message (or fragment) received from or handed to a link, for captures
   * and diagnostics. Must not modify the bytes. With `tail`, the message is `bytes` (then
   * exactly its ForwardingHeader) followed by `tail`: a forwarded message's gather list,
   * which the router does not join for the tap's sake (joinPieces in
   * src/routing/message-bytes.ts does).
   */
  tap: ((direction: 'in' | 'out', link: LinkEntry, bytes: Uint8Array, tail?: Uint8Array) => void) | undefined;
  /**
   * Looks at a whole request this node is about to forward for another node: `rest` holds
   * its MessageContents, then the security block (the bytes after the ForwardingHeader). Returning an
   * error answers the request with it instead of forwarding it (RFC 7851 §5.3: an expired
   * diagnostic request gets Error_Message_Expired at the intermediate peer).
   */
  forwardCheck: ((code: number, rest: Uint8Array) => { errorCode: number; text: string } | undefined) | undefined;

  private readonly transactions: TransactionTable;
  private readonly duplicates: DuplicateCache;
  private readonly reassembler: Reassembler;
  private readonly nodeId: Uint8Array;
  private readonly selfDestination: Destination;
  private readonly wildcard: Uint8Array;
  private readonly knownOptions: ReadonlySet<number>;
  private readonly knownExtensions: ReadonlySet<number>;
  private stopped = false;

  constructor(private readonly init: RouterInit) {
    this.nodeId = init.signer.nodeId;
    this.selfDestination = { type: 'node', id: this.nodeId };
    this.wildcard = wildcardNodeId(init.params.nodeIdLength);
    this.transactions = new TransactionTable(init.clock, init.params.reliabilityTimerMs, init.params.maxTransmissions);
    this.duplicates = new DuplicateCache(init.clock, DUPLICATE_WINDOW_MS);
    this.reassembler = new Reassembler(init.params.maxMessageSize);
    this.knownOptions = init.knownForwardingOptions ?? new Set();
    this.knownExtensions = init.knownExtensions ?? new Set();
  }

  // ---------------------------------------------------------------- links

  /** A link came up. TLS links name their Node-ID by certificate. */
  linkUp(conn: Connection, nodeId?: Uint8Array): LinkEntry {
    const entry = this.table.add(conn, this.init.clock.monotonic());
    if (nodeId) this.bindLink(entry, nodeId);
    return entry;
  }

  linkDown(conn: Connection): LinkEntry | undefined {
    const e = this.table.remove(conn.id);
    if (e && this.gateway === e) this.gateway = undefined;
    return e;
  }

  bindLink(entry: LinkEntry, nodeId: Uint8Array): void {
    const was = entry.nodeId;
    this.table.bind(entry, nodeId);
    if (!was || !bytesEqual(was, nodeId)) this.onLinkBound?.(entry);
  }

  stop(): void {
    this.stopped = true;
    this.duplicates.stop();
    this.transactions.failAll(new ReloadError(ErrorCode.requestTimeout, 'node stopped'));
  }

  // ---------------------------------------------------------------- receive

  /**
   * Entry point for every message a link delivers; with `tail` (the memory link's gather
   * list) the message is `bytes` followed by `tail`.
   */
  receive(conn: Connection, bytes: Uint8Array, tail?: Uint8Array): void {
    if (this.stopped) return;
    const entry = this.table.byConnectionId(conn.id) ?? this.linkUp(conn);
    entry.lastSeen = this.init.clock.monotonic();
    const total = tail === undefined ? bytes.length : bytes.length + tail.length;
    this.stats.received++;
    this.stats.bytesIn += total;
    let header: ForwardingHeader;
    let m: MessageBytes;
    try {
      const r = new Reader(bytes);
      header = forwardingHeader.decode(r);
      if (header.length !== total) {
        throw new DecodeError('ForwardingHeader', 'length', 'length', 16, `says ${header.length}, got ${total}`);
      }
      if (tail === undefined || r.pos === bytes.length) {
        m = new MessageBytes(bytes, r.pos, tail);
      } else {
        // Pieces that do not split at the header's end: one buffer, as from a socket.
        m = new MessageBytes(joinPieces(bytes, tail), r.pos);
      }
    } catch (err) {
      this.tap?.('in', entry, tail === undefined ? bytes : joinPieces(bytes, tail));
      this.stats.decodeErrors++;
      this.drop('undecodable forwarding header', { error: (err as Error).message, link: conn.id });
      return;
    }
    if (this.tap) this.tap('in', entry, m.head, m.tail);
    // RFC 6940 §6.3.2 / behaviour §2 step 2: header checks at every node.
    if (header.overlay !== this.init.overlayHash) return this.drop('wrong overlay', { overlay: header.overlay });
    if (header.version !== RELOAD_VERSION) return this.drop('unsupported version', { version: header.version });
    if (header.ttl > this.init.params.initialTtl) {
      this.replyError(entry, header, m, ErrorCode.ttlExceeded, `TTL ${header.ttl} exceeds initial-ttl`);
      return;
    }
    this.route(entry, header, m);
  }

  private route(from: LinkEntry | undefined, header: ForwardingHeader, m: MessageBytes): void {
    const dests = header.destinationList;
    if (dests.length === 0) return this.drop('empty destination list');
    // Behaviour §2 step 4: a repeated destination is a loop.
    for (let i = 0; i < dests.length; i++) {
      for (let j = i + 1; j < dests.length; j++) {
        if (destinationsEqual(dests[i]!, dests[j]!)) {
          this.replyError(from, header, m, ErrorCode.invalidMessage, 'duplicate destination');
          return;
        }
      }
    }
    const first = dests[0]!;
    switch (first.type) {
      case 'node': {
        if (bytesEqual(first.id, this.nodeId)) {
          if (dests.length === 1) return this.deliver(from, header, m);
          return this.reroute(from, header, m, dests.slice(1));
        }
        if (isWildcardNodeId(first.id)) return this.deliver(from, header, m);
        const direct = this.table.byNode(first.id);
        if (direct) return this.forward(from, header, m, direct, dests);
        if (this.init.isPeer && this.topology?.isResponsible(first.id)) {
          return this.drop('no such node in our range', { node: toHex(first.id) });
        }
        return this.forwardByTopology(from, header, m, first.id, dests);
      }
      case 'resource': {
        if (this.init.isPeer && this.topology?.isResponsible(first.id)) {
          if (dests.length !== 1) return this.drop('resource id is not the only destination');
          return this.deliver(from, header, m);
        }
        return this.forwardByTopology(from, header, m, first.id, dests);
      }
      case 'compressed':
      case 'opaque': {
        const link = first.type === 'compressed' ? this.table.byCompressedId(first.id) : undefined;
        if (!link) return this.drop('unknown opaque destination');
        let rest = dests.slice(1);
        if (rest.length === 0) {
          // The link's Node-ID names it; a link never bound is reached by the wildcard.
          rest = [{ type: 'node', id: link.nodeId ?? this.wildcard }];
        }
        return this.forward(from, header, m, link, rest);
      }
    }
  }

  /** Pops this node from the Destination List and routes on the next entry. */
  private reroute(
    from: LinkEntry | undefined,
    header: ForwardingHeader,
    m: MessageBytes,
    rest: Destination[],
  ): void {
    const next = rest[0]!;
    if (from !== undefined && next.type === 'node' && !bytesEqual(next.id, this.nodeId)) {
      // The usual case (a response retracing its path, or a source route): the next entry
      // is a directly connected node; pop our entry while forwarding (one rewrite).
      const direct = this.table.byNode(next.id);
      if (direct) return this.forward(from, header, m, direct, rest, true);
    }
    const h: ForwardingHeader = { ...header, destinationList: rest };
    this.route(from, h, this.rebuild(h, m));
  }

  private forwardByTopology(
    from: LinkEntry | undefined,
    header: ForwardingHeader,
    m: MessageBytes,
    id: Uint8Array,
    dests: Destination[],
  ): void {
    let next: LinkEntry | undefined;
    if (this.init.isPeer && this.topology) {
      const hop = this.topology.nextHop(id);
      if (hop) next = this.table.byNode(hop);
    } else {
      next = this.gateway;
    }
    if (!next) {
      this.replyError(from, header, m, ErrorCode.notFound, 'no route to destination');
      return;
    }
    if (from && next === from && from.nodeId && !this.init.isPeer) return this.drop('would loop back');
    this.forward(from, header, m, next, dests);
  }

  /** Sends a message on to `next` (RFC 6940 §6.1.2), appending the previous hop to requests' Via Lists. */
  private forward(
    from: LinkEntry | undefined,
    header: ForwardingHeader,
    m: MessageBytes,
    next: LinkEntry,
    dests: Destination[],
    /** `dests` is the header's Destination List without its first entry (ours). */
    popFirst = false,
  ): void {
    if (from !== undefined) {
      if (header.ttl === 0) {
        // RFC 7851 §5.3: a PathTrack that runs out of hops gets Error_TTL_Hops_Exceeded.
        const pathTrack = this.peekCode(header, m) === MessageCode.pathTrackReq;
        this.replyError(from, header, m, pathTrack ? ErrorCode.ttlHopsExceeded : ErrorCode.ttlExceeded, 'TTL exhausted');
        return;
      }
      // Behaviour §2 step 6: an unknown FORWARD_CRITICAL option stops the message here.
      for (const o of header.options) {
        if (o.flags & ForwardingFlag.forwardCritical && !this.knownOptions.has(o.type)) {
          this.replyError(from, header, m, ErrorCode.unsupportedForwardingOption, `option ${o.type}`);
          return;
        }
      }
    }
    const isRequest = this.peekIsRequest(header, m);
    if (from !== undefined && isRequest && header.viaList.some((v) => v.type === 'node' && bytesEqual(v.id, this.nodeId))) {
      // The request passed here before: a routing loop (RFC 7851 §5.3 intermediate-peer
      // check). Stop it here rather than let it circle until its TTL runs out.
      this.replyError(from, header, m, ErrorCode.loopDetected, 'routing loop: this node is already in the Via List');
      return;
    }
    if (from !== undefined && isRequest && this.forwardCheck && isWholeMessage(header.fragment)) {
      const code = this.peekCode(header, m);
      const refusal = code === undefined ? undefined : this.forwardCheck(code, m.rest());
      if (refusal) {
        this.replyError(from, header, m, refusal.errorCode, refusal.text);
        return;
      }
    }
    if (from !== undefined) this.stats.forwarded++;
    if (from !== undefined && (popFirst || dests === header.destinationList)) {
      // Fast path (src/wire/forward.ts): the TTL, for requests the Via List, and when our
      // own entry leads the Destination List that entry change — patched on the header's
      // bytes, nothing re-encoded; the rest of the message follows it uncopied.
      const rewrite = { removeFirstDestination: popFirst, ...(isRequest ? { appendVia: this.viaEntry(from) } : {}) };
      this.transmit(next, rewriteHeader(m.head, m.length, rewrite), m.rest());
      return;
    }
    const via = from !== undefined && isRequest ? [...header.viaList, this.previousHop(from)] : header.viaList;
    const h: ForwardingHeader = {
      ...header,
      ttl: from !== undefined ? header.ttl - 1 : header.ttl,
      viaList: via,
      destinationList: dests,
    };
    const out = this.rebuild(h, m);
    this.transmit(next, out.head, out.rest());
  }

  /** The encoded Via List entry naming `link` (cached per link and Node-ID). */
  private viaEntry(link: LinkEntry): Uint8Array {
    const cached = this.viaEntries.get(link);
    if (cached && cached.nodeId === link.nodeId) return cached.bytes;
    const bytes = encodeViaEntry(this.previousHop(link));
    this.viaEntries.set(link, { nodeId: link.nodeId, bytes });
    return bytes;
  }

  private readonly viaEntries = new WeakMap<LinkEntry, { nodeId: Uint8Array | undefined; bytes: Uint8Array }>();

  /** How a previous hop is named in a Via List: its Node-ID, else this node's compressed id for the link. */
  private previousHop(link: LinkEntry): Destination {
    return link.nodeId ? { type: 'node', id: link.nodeId } : { type: 'compressed', id: link.compressedId };
  }

  /** The message code of a whole message or first fragment; undefined for later fragments. */
  private peekCode(header: ForwardingHeader, m: MessageBytes): number | undefined {
    if ((header.fragment & FRAGMENT_OFFSET_MASK) !== 0) return undefined;
    return m.leadingCode();
  }

  /** Whether a (first) fragment carries a request code; later fragments count as requests. */
  private peekIsRequest(header: ForwardingHeader, m: MessageBytes): boolean {
    const code = this.peekCode(header, m);
    return code === undefined || isRequestCode(code);
  }

  /** The message with header `h` re-encoded (its `length` set) and the rest unchanged, uncopied. */
  private rebuild(h: ForwardingHeader, m: MessageBytes): MessageBytes {
    const rest = m.rest();
    const size = forwardingHeader.size(h);
    h.length = size + rest.length;
    const w = new Writer(new Uint8Array(size));
    forwardingHeader.encode(w, h);
    return new MessageBytes(w.buf, size, rest);
  }

  /** Hands a message — `bytes`, then `tail` if given — to a link; UDP links get fragments (RFC 6940 §6.7). */
  private transmit(link: LinkEntry, bytes: Uint8Array, tail?: Uint8Array): void {
    const conn = link.connection;
    const length = tail === undefined ? bytes.length : bytes.length + tail.length;
    if (conn.transport === 'udp' && length > this.init.params.datagramMtu - FRAGMENT_VIA_HEADROOM) {
      for (const p of fragmentMessage(tail === undefined ? bytes : joinPieces(bytes, tail), this.init.params.datagramMtu)) this.send(link, p);
      return;
    }
    this.send(link, bytes, tail);
  }

  private send(link: LinkEntry, bytes: Uint8Array, tail?: Uint8Array): void {
    const conn = link.connection;
    this.stats.bytesOut += tail === undefined ? bytes.length : bytes.length + tail.length;
    if (this.tap) this.tap('out', link, bytes, tail);
    conn.send(bytes, tail).catch((err: Error) => {
      this.init.log.debug('link send failed', { link: conn.id, error: err.message });
    });
  }

  // ---------------------------------------------------------------- deliver

  private deliver(from: LinkEntry | undefined, header: ForwardingHeader, m: MessageBytes): void {
    if (!isWholeMessage(header.fragment)) {
      try {
        const r = this.reassembler.add(m.whole(), this.init.clock.monotonic(), from?.connection.id ?? 'local');
        if (!r) return;
        m = new MessageBytes(r, Router.headerSizeOf(r));
      } catch (err) {
        this.stats.decodeErrors++;
        return this.drop('reassembly failed', { error: (err as Error).message });
      }
    }
    let msg: DecodedMessage;
    try {
      msg = m.decode();
    } catch (err) {
      this.stats.decodeErrors++;
      this.replyError(from, header, m, ErrorCode.invalidMessage, (err as Error).message);
      return;
    }
    let signer: SignerInfo;
    try {
      signer = verifyMessage(msg, this.init.certificates);
    } catch (err) {
      // Behaviour §2 step 8: drop silently, never process.
      this.stats.signatureFailures++;
      return this.drop('signature check failed', { error: (err as Error).message });
    }
    // A request with an empty Via List came straight from its signer: that names an
    // unauthenticated link (UDP). Responses always have empty Via Lists, so they prove
    // nothing about the previous hop.
    const isRequest = isRequestCode(msg.contents.code);
    const direct = isRequest && msg.header.viaList.length === 0;
    if (from && direct && !from.nodeId) this.bindLink(from, signer.nodeId);
    this.stats.delivered++;
    this.count(msg.contents.code, 1);
    if (isRequestCode(msg.contents.code)) {
      void this.handleRequest(from, msg, signer, direct);
    } else {
      this.handleAnswer(msg, signer, from);
    }
  }

  private async handleRequest(
    from: LinkEntry | undefined,
    msg: DecodedMessage,
    signer: SignerInfo,
    direct: boolean,
  ): Promise<void> {
    const key = `${msg.header.transactionId}/${toHex(signer.nodeId)}`;
    const seen = this.duplicates.check(key);
    if (seen === 'processing') return;
    if (seen instanceof Uint8Array) {
      // A retransmission: the same answer again (RFC 6940 §6.2.1).
      if (from) this.transmit(from, seen);
      else this.loopback(seen);
      return;
    }
    let result: HandlerResult;
    try {
      result = await this.check(msg, signer);
      if (result === undefined) {
        if (!this.handler) throw new ReloadError(ErrorCode.forbidden, 'no handler');
        result = await this.handler({ message: msg, signer, link: from, direct });
      }
    } catch (err) {
      const e = err instanceof ReloadError ? err : new ReloadError(ErrorCode.invalidMessage, (err as Error).message);
      if (!(err instanceof ReloadError)) this.init.log.warn('request handler failed', { error: (err as Error).stack });
      result = {
        code: MessageCode.error,
        body: encode(errorResponse, { errorCode: e.errorCode, errorInfo: e.errorInfo ?? utf8(e.message) }),
      };
    }
    if (this.stopped) return;
    let answer: Uint8Array;
    try {
      answer = await this.answerWithin(from, msg, result);
    } catch (err) {
      // Signing failed (a key the crypto library refuses): nothing can be sent.
      this.init.log.warn('answer not signed', { error: (err as Error).message });
      return;
    }
    if (this.stopped) return;
    this.duplicates.remember(key, answer);
    if (from) this.transmit(from, answer);
    else this.loopback(answer);
  }

  /** The signed answer, or Error_Response_Too_Large when it would exceed the limit. */
  private async answerWithin(from: LinkEntry | undefined, msg: DecodedMessage, result: HandlerResult): Promise<Uint8Array> {
    let answer = await this.buildAnswer(from, msg, result);
    // Behaviour §2 step 9: an answer above the requester's max_response_length, or above
    // the overlay's max-message-size (it could not travel), becomes Error_Response_Too_Large.
    const max = msg.header.maxResponseLength;
    const limit = max !== 0 ? Math.min(max, this.init.params.maxMessageSize) : this.init.params.maxMessageSize;
    if (answer.length > limit) {
      const what = max !== 0 && max <= this.init.params.maxMessageSize ? `max_response_length ${max}` : `max-message-size ${limit}`;
      answer = await this.buildAnswer(from, msg, {
        code: MessageCode.error,
        body: encode(errorResponse, {
          errorCode: ErrorCode.responseTooLarge,
          errorInfo: utf8(`answer of ${answer.length} bytes exceeds ${what}`),
        }),
      });
    }
    return answer;
  }

  /**
   * Destination-side checks before a request is handled (behaviour §2 steps 5-7).
   * Returns an error result, or undefined to proceed.
   */
  private async check(msg: DecodedMessage, signer: SignerInfo): Promise<HandlerResult> {
    const seq = msg.header.configurationSequence;
    const ours = this.init.params.configurationSequence;
    const isConfigUpdate65535 = msg.contents.code === MessageCode.configUpdateReq && seq === 0xffff;
    if (seq !== ours && !isConfigUpdate65535) {
      // Compared modulo 2^16 like TCP sequence numbers.
      const newer = ((seq - ours) & 0xffff) < 0x8000;
      if (!newer) void this.onStaleConfiguration?.(signer.nodeId);
      throw new ReloadError(
        newer ? ErrorCode.configTooNew : ErrorCode.configTooOld,
        `configuration sequence ${seq}, ours is ${ours}`,
      );
    }
    for (const o of msg.header.options) {
      if (o.flags & ForwardingFlag.destinationCritical && !this.knownOptions.has(o.type)) {
        throw new ReloadError(ErrorCode.unsupportedForwardingOption, `forwarding option ${o.type}`);
      }
    }
    for (const e of msg.contents.extensions) {
      if (e.critical && !this.knownExtensions.has(e.type)) {
        throw new ReloadError(ErrorCode.unknownExtension, `message extension ${e.type}`);
      }
    }
    return undefined as unknown as HandlerResult;
  }

  /**
   * The Destination List of a response (RFC 6940 §6.3.2.1, behaviour §2.1): the previous
   * hop, then the request's Via List reversed. A previous hop whose Node-ID this node does
   * not know is left out (the response goes out on its link anyway); if nothing remains,
   * the wildcard Node-ID addresses whoever is at the other end of the link.
   */
  private responsePath(from: LinkEntry | undefined, viaList: Destination[]): Destination[] {
    const path: Destination[] = [];
    if (!from) path.push(this.selfDestination);
    else if (from.nodeId) path.push({ type: 'node', id: from.nodeId });
    for (let i = viaList.length - 1; i >= 0; i--) path.push(viaList[i]!);
    return path.length > 0 ? path : [{ type: 'node', id: this.wildcard }];
  }

  /** Encodes and signs an answer to `req`, which arrived on `from`. */
  private buildAnswer(from: LinkEntry | undefined, req: DecodedMessage, result: HandlerResult): Uint8Array | Promise<Uint8Array> {
    const copied = req.header.options
      .filter((o) => o.flags & ForwardingFlag.responseCopy)
      .map((o) => ({ type: o.type, flags: 0, value: o.value }));
    const header: ForwardingHeader = {
      overlay: this.init.overlayHash,
      configurationSequence: this.init.params.configurationSequence,
      version: RELOAD_VERSION,
      ttl: this.init.params.initialTtl,
      fragment: FRAGMENT_UNFRAGMENTED,
      length: 0,
      transactionId: req.header.transactionId,
      maxResponseLength: 0,
      viaList: [],
      destinationList: this.responsePath(from, req.header.viaList),
      options: copied,
    };
    // An answer is kept in the duplicate cache for its window: carved from the slabs of
    // equally long-lived buffers, so it does not pin a transient slab (src/wire/slab.ts).
    return this.sign(header, result.code, result.body, result.extensions ?? [], result.certificates, this.init.signer, true);
  }

  /**
   * Encodes and signs a message. The signature is computed off the event loop where the
   * scheme can (RSA on libuv's thread pool), so the node keeps forwarding and reading its
   * links meanwhile; messages signed concurrently may leave in either order (each is a
   * transaction of its own). A scheme that signs inline gives the message at once, with
   * no promise (callers await either).
   */
  private sign(
    header: ForwardingHeader,
    code: number,
    body: Uint8Array,
    extensions: MessageExtension[],
    certificates: Uint8Array[] = [],
    signer: Signer = this.init.signer,
    /** The message is kept long (see allocateKeptBytes). */
    kept = false,
  ): Uint8Array | Promise<Uint8Array> {
    const contents = encode(messageContents, { code, body, extensions });
    const own = signer.credentials.certificate.der;
    const extra = dedupe(certificates.filter((c) => !bytesEqual(c, own)));
    if (signer.signsInline) {
      const security = signer.signMessage(header.overlay, header.transactionId, contents, extra);
      this.count(code, 0);
      return assembleMessage(header, contents, security, kept);
    }
    return signer.signMessageAsync(header.overlay, header.transactionId, contents, extra).then((security) => {
      this.count(code, 0);
      return assembleMessage(header, contents, security, kept);
    });
  }

  private handleAnswer(msg: DecodedMessage, signer: SignerInfo, link: LinkEntry | undefined): void {
    const answer: Answer = {
      code: msg.contents.code,
      body: msg.contents.body,
      from: signer.nodeId,
      certificates: msg.security.certificates.map((c) => c.certificate),
      // Every forwarding peer decremented the answer's TTL (RFC 6940 §6.1.2): the answer
      // crossed (initial-ttl - ttl + 1) links, and with symmetric routing so did the request.
      hops: link ? Math.max(1, this.init.params.initialTtl - msg.header.ttl + 1) : 0,
      extensions: msg.contents.extensions,
    };
    if (answer.code === MessageCode.error && answer.body.length >= 2 && ((answer.body[0]! << 8) | answer.body[1]!) === ErrorCode.loopDetected) {
      // A peer on the way found the request looping: routing tables were inconsistent for a
      // moment (churn). Not final — the end-to-end retransmission (RFC 6940 §6.2.1) retries
      // with the same transaction id once they have had time to repair.
      this.init.log.debug('routing loop reported; the retransmission will retry', { txid: msg.header.transactionId.toString(16) });
      return;
    }
    if (!this.transactions.complete(msg.header.transactionId, answer)) {
      this.init.log.debug('answer for no pending transaction', { txid: msg.header.transactionId.toString(16) });
    }
  }

  /** A message this node addressed to itself. */
  private loopback(bytes: Uint8Array): void {
    this.init.clock.setTimeout(() => {
      try {
        const r = new Reader(bytes);
        const header = forwardingHeader.decode(r);
        this.deliver(undefined, header, new MessageBytes(bytes, r.pos));
      } catch (err) {
        this.drop('loopback failed', { error: (err as Error).message });
      }
    }, 0);
  }

  /** Error answer for a message that cannot be forwarded or delivered (never for answers). */
  private replyError(
    from: LinkEntry | undefined,
    header: ForwardingHeader,
    m: MessageBytes,
    errorCode: number,
    text: string,
  ): Promise<void> | undefined {
    this.drop(text, { errorCode });
    // Only a whole request, or a request's first fragment, is answered.
    const code = this.peekCode(header, m);
    if (!from || code === undefined || !isRequestCode(code)) return;
    const reply: ForwardingHeader = {
      overlay: this.init.overlayHash,
      configurationSequence: this.init.params.configurationSequence,
      version: RELOAD_VERSION,
      ttl: this.init.params.initialTtl,
      fragment: FRAGMENT_UNFRAGMENTED,
      length: 0,
      transactionId: header.transactionId,
      maxResponseLength: 0,
      viaList: [],
      destinationList: this.responsePath(from, header.viaList),
      options: [],
    };
    const body = encode(errorResponse, { errorCode, errorInfo: utf8(text) });
    this.stats.errorsSent++;
    let signed: Uint8Array | Promise<Uint8Array>;
    try {
      signed = this.sign(reply, MessageCode.error, body, []);
    } catch (err) {
      signed = Promise.reject(err as Error);
    }
    return Promise.resolve(signed).then(
      (bytes) => {
        if (!this.stopped && from.connection.open) this.transmit(from, bytes);
      },
      (err: Error) => this.drop('error answer not signed', { error: err.message }),
    );
  }

  private drop(reason: string, fields: Record<string, unknown> = {}): void {
    this.stats.dropped++;
    this.init.log.debug(`dropped: ${reason}`, fields);
  }

  private count(code: number, dir: 0 | 1): void {
    let c = this.stats.byCode.get(code);
    if (!c) this.stats.byCode.set(code, (c = [0, 0]));
    c[dir]++;
  }

  /**
   * An incoming message exceeded max-message-size (RFC 6940 §6.6.2): answer
   * Error_Message_Too_Large if the head holds a whole forwarding header of a request;
   * the link closes afterwards either way.
   */
  messageTooLarge(conn: Connection, head: Uint8Array, length: number): Promise<void> | undefined {
    const entry = this.table.byConnectionId(conn.id);
    if (!entry || head.length < FORWARDING_HEADER_FIXED_SIZE) return undefined;
    const headerSize = Router.headerSizeOf(head);
    if (head.length < headerSize + 2) return undefined;
    let header: ForwardingHeader;
    try {
      header = forwardingHeader.decode(new Reader(head, 0, headerSize));
    } catch {
      return undefined; // An undecodable head: close silently.
    }
    // The link closes once the (asynchronously signed) error answer is on its way.
    return this.replyError(entry, header, new MessageBytes(head, headerSize), ErrorCode.messageTooLarge, `message of ${length} bytes exceeds max-message-size`);
  }

  // ---------------------------------------------------------------- originate

  /**
   * Sends a request and waits for its answer (end-to-end retransmission, RFC 6940
   * §6.2.1). An ErrorResponse answer rejects with ReloadErrorResponse.
   */
  async request(destinations: Destination[], code: number, body: Uint8Array, opts: RequestOptions = {}): Promise<Answer> {
    try {
      return await this.requestOnce(destinations, code, body, opts);
    } catch (err) {
      // The responder runs an older configuration (Error_Config_Too_New): bring it up to
      // date with a ConfigUpdate, then try once more (RFC 6940 §6.3.2.1, behaviour §9.5).
      if (
        err instanceof ReloadErrorResponse &&
        err.errorCode === ErrorCode.configTooNew &&
        err.from &&
        code !== MessageCode.configUpdateReq &&
        this.onStaleConfiguration
      ) {
        // Same path as the request: during a join the responder is reachable only over the
        // bootstrap link (no topology yet).
        await this.onStaleConfiguration(err.from, opts.viaLink);
        return this.requestOnce(destinations, code, body, opts);
      }
      throw err;
    }
  }

  private async requestOnce(destinations: Destination[], code: number, body: Uint8Array, opts: RequestOptions): Promise<Answer> {
    if (this.stopped) throw new ReloadError(ErrorCode.requestTimeout, 'node stopped');
    const transactionId = this.init.random.u64();
    const header: ForwardingHeader = {
      overlay: this.init.overlayHash,
      configurationSequence: opts.configurationSequence ?? this.init.params.configurationSequence,
      version: RELOAD_VERSION,
      ttl: this.init.params.initialTtl,
      fragment: FRAGMENT_UNFRAGMENTED,
      length: 0,
      transactionId,
      maxResponseLength: opts.maxResponseLength ?? 0,
      viaList: [],
      destinationList: destinations,
      options: opts.options ?? [],
    };
    const bytes = await this.sign(header, code, body, opts.extensions ?? [], opts.certificates, opts.signer);
    if (this.stopped) throw new ReloadError(ErrorCode.requestTimeout, 'node stopped');
    if (bytes.length > this.init.params.maxMessageSize) {
      throw new ReloadError(ErrorCode.messageTooLarge, `message of ${bytes.length} bytes exceeds max-message-size`);
    }
    const headerSize = forwardingHeader.size(header);
    this.stats.originated++;
    const last = destinations[destinations.length - 1]!;
    const accept = (from: Uint8Array, answerCode: number): boolean => {
      if (opts.anyResponder) return true;
      // Diagnostics (RFC 7851 §5.3): an intermediate peer reports Error_Message_Expired or
      // Error_TTL_Hops_Exceeded itself, signed by itself. Other requests keep discarding
      // errors from nodes other than the destination and retransmit (a routing problem
      // during churn is often gone by then).
      if (answerCode === MessageCode.error && opts.acceptPathErrors) return true;
      // Behaviour §2 step 8: a response to a request for Node-ID X must be signed by X.
      if (last.type === 'node' && !isWildcardNodeId(last.id)) return bytesEqual(from, last.id);
      if (last.type === 'resource' && this.init.isPeer && this.topology) {
        return this.topology.plausibleResponder(last.id, from);
      }
      return true;
    };
    const transmit = (): void => {
      if (opts.viaLink) {
        if (!opts.viaLink.connection.open) {
          this.transactions.fail(transactionId, new ReloadError(ErrorCode.notFound, 'link closed'));
          return;
        }
        this.transmit(opts.viaLink, bytes);
        return;
      }
      try {
        this.originate(header, bytes, headerSize, transactionId);
      } catch (err) {
        this.transactions.fail(transactionId, err as Error);
      }
    };
    const answer = await this.transactions.start(transactionId, transmit, accept, `code 0x${code.toString(16)}`, opts.signal);
    if (answer.code === MessageCode.error) {
      let e;
      try {
        const r = new Reader(answer.body);
        e = errorResponse.decode(r);
      } catch {
        throw new ReloadError(ErrorCode.invalidMessage, 'undecodable error response');
      }
      throw new ReloadErrorResponse(e.errorCode, e.errorInfo, answer.from);
    }
    if (answer.code !== code + 1) {
      throw new ReloadError(ErrorCode.invalidMessage, `answer code 0x${answer.code.toString(16)} to request 0x${code.toString(16)}`);
    }
    return answer;
  }

  /** Routes a locally originated message (no Via entry is added for ourselves). */
  private originate(header: ForwardingHeader, bytes: Uint8Array, headerSize: number, _txid: bigint): void {
    const first = header.destinationList[0]!;
    if (first.type === 'node' && (bytesEqual(first.id, this.nodeId) || isWildcardNodeId(first.id))) {
      if (header.destinationList.length === 1) {
        this.loopback(bytes);
        return;
      }
    }
    if (first.type === 'resource' && this.init.isPeer && this.topology?.isResponsible(first.id)) {
      this.loopback(bytes);
      return;
    }
    if (first.type === 'node' || first.type === 'resource') {
      const direct = first.type === 'node' ? this.table.byNode(first.id) : undefined;
      if (direct) {
        this.transmit(direct, bytes);
        return;
      }
      let next: LinkEntry | undefined;
      if (this.init.isPeer && this.topology) {
        const hop = this.topology.nextHop(first.id);
        if (hop) next = this.table.byNode(hop);
      }
      next ??= this.gateway;
      if (!next) throw new ReloadError(ErrorCode.notFound, 'no route: not connected to the overlay');
      this.transmit(next, bytes);
      return;
    }
    this.route(undefined, header, new MessageBytes(bytes, headerSize));
  }

  get pendingTransactions(): number {
    return this.transactions.size;
  }

  /** The forwarding header size of a message (fixed part plus lists). */
  static headerSizeOf(bytes: Uint8Array): number {
    if (bytes.length < FORWARDING_HEADER_FIXED_SIZE) return bytes.length;
    const via = (bytes[32]! << 8) | bytes[33]!;
    const dest = (bytes[34]! << 8) | bytes[35]!;
    const opts = (bytes[36]! << 8) | bytes[37]!;
    return FORWARDING_HEADER_FIXED_SIZE + via + dest + opts;
  }

  /** Own Node-ID as a destination. */
  get self(): Destination {
    return this.selfDestination;
  }
}

function dedupe(certs: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of certs) if (!out.some((o) => bytesEqual(o, c))) out.push(c);
  return out;
}
