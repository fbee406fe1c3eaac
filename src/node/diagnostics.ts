/**
 * RFC 7851 overlay diagnostics at a node: answering the Diagnostic_Ping extension of Ping
 * and PathTrack requests (the responder side), the intermediate-peer checks, and the
 * initiator side (a diagnostic Ping, an iterative PathTrack walk).
 *
 * Authorization (RFC 7851 §7: per diagnostic Kind, overlay-wide, default deny, the
 * requester known by the message signature). The overlay configuration has no element for
 * it yet, so the policy is a node option, and the default is: every Kind this node
 * provides is answered to any requester whose message signature verified against the
 * overlay's trust anchors — i.e. to enrolled nodes of the overlay only, since the router
 * drops every request that fails that check before it reaches a handler. An operator
 * narrows it with `access: 'none'`, a list of Kind-IDs, or a function of (Kind, signer)
 * (`reload-node start --diagnostics none|all|KIND,...`). Kinds a requester may not read are
 * left out of the answer, as are Kinds this node cannot measure (PROCESS_POWER, the
 * bandwidths, UNDERLAY_HOP, BATTERY_STATUS).
 *
 * Timestamps and expirations are ms since the epoch from the node's Clock. A request whose
 * expiration has passed is answered with Error_Message_Expired, both here (responder) and
 * by peers forwarding it (Router.forwardCheck); an expiration more than 600 s ahead
 * (RFC 7851 §5.1 allows 1..600 s) is refused as Error_Invalid_Message.
 */
import { readFileSync } from 'node:fs';
import { uptime as machineUptime } from 'node:os';
import { dirname, join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ReloadError } from '../common/errors.js';
import type { HandlerResult, IncomingRequest } from '../routing/router.js';
import type { SignerInfo } from '../security/verifier.js';
import { decodeBody, encodeBody } from '../wire/body.js';
import { Reader, bytesEqual, decode, encode, toHex } from '../wire/codec.js';
import { ErrorCode, MessageCode, MessageExtensionType } from '../wire/constants.js';
import type { Destination } from '../wire/destination.js';
import {
  DM_FLAGS_ALL,
  DiagnosticKind,
  type DiagnosticExtension,
  type DiagnosticInfo,
  type DiagnosticsRequest,
  type DiagnosticsResponse,
  diagnosticKindName,
  diagnosticsRequest,
  diagnosticsResponse,
  kindsOfDmFlags,
} from '../wire/diagnostics.js';
import { isWildcardNodeId } from '../wire/ids.js';
import { type MessageExtension, messageContents } from '../wire/message.js';
import type { ReloadNode } from './node.js';

/** Lifetime of the requests and responses this node makes (RFC 7851 §5.1: 1..600 s), ms. */
export const DIAGNOSTIC_LIFETIME_MS = 60_000;
/** Farthest expiration RFC 7851 §5.1 allows, ms ahead. */
export const MAX_DIAGNOSTIC_LIFETIME_MS = 600_000;
/** EWMA_BYTES_SENT / _RCVD sampling period (RFC 7851 §6.13: "e.g. every 5 seconds"), ms. */
export const EWMA_INTERVAL_MS = 5_000;
/** EWMA weight of the newest period (RFC 7851 §6.13 suggests 0.8). */
export const EWMA_ALPHA = 0.8;

/** Who may read which diagnostic Kind (see the module comment). */
export type DiagnosticsAccess = 'all' | 'none' | readonly number[] | ((kind: number, requester: SignerInfo) => boolean);

export interface DiagnosticsOptions {
  /** Who may read which Kind. @default 'all' (any enrolled node of the overlay) */
  access?: DiagnosticsAccess;
  /** SOFTWARE_VERSION text (US-ASCII). @default "reload-node/<version> (Node.js …; platform arch)" */
  softwareVersion?: string;
  /** EWMA sampling period, ms. @default EWMA_INTERVAL_MS */
  ewmaIntervalMs?: number;
  /** EWMA weight of the newest period, 0..1. @default EWMA_ALPHA */
  ewmaAlpha?: number;
}

/** The Kinds this node can answer, in Kind-ID order. */
export const PROVIDED_DIAGNOSTIC_KINDS: readonly number[] = Object.freeze([
  DiagnosticKind.statusInfo,
  DiagnosticKind.routingTableSize,
  DiagnosticKind.softwareVersion,
  DiagnosticKind.machineUptime,
  DiagnosticKind.appUptime,
  DiagnosticKind.memoryFootprint,
  DiagnosticKind.datasizeStored,
  DiagnosticKind.instancesStored,
  DiagnosticKind.messagesSentRcvd,
  DiagnosticKind.ewmaBytesSent,
  DiagnosticKind.ewmaBytesRcvd,
]);

/** What to ask for. */
export interface DiagnosticQuery {
  /** dMFlags. @default DM_FLAGS_ALL */
  dmFlags?: bigint;
  extensions?: DiagnosticExtension[];
  /** Request lifetime, ms (1..600 s). @default DIAGNOSTIC_LIFETIME_MS */
  lifetimeMs?: number;
  signal?: AbortSignal;
}

export interface DiagnosticPingResult {
  /** Node-ID of the node that answered. */
  from: Uint8Array;
  rttMs: number;
  /** Overlay links the answer crossed. */
  hops: number;
  /** PingAns time, ms since the epoch. */
  time: bigint;
  /** The DiagnosticsResponse, absent when the responder does not support RFC 7851. */
  response: DiagnosticsResponse | undefined;
}

/** One hop of a PathTrack walk. */
export interface PathTrackHop {
  /** 1 for the first node asked. */
  hop: number;
  /** The node that answered. */
  nodeId: Uint8Array;
  /** Its next hop toward the destination (its own Node-ID when responsible). */
  nextHop: Uint8Array;
  /** Whether it is responsible for the destination (the walk ends). */
  responsible: boolean;
  rttMs: number;
  /** Overlay links the request crossed to reach it. */
  hops: number;
  response: DiagnosticsResponse;
}

/** A DiagnosticInfo list as plain JSON-able values (bigints as numbers or decimal strings). */
export function diagnosticsToJson(info: readonly DiagnosticInfo[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = (v: bigint): number | string => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
  for (const i of info) {
    switch (i.type) {
      case 'status_info':
        out.status_info = i.status;
        break;
      case 'routing_table_size':
        out.routing_table_size = i.peers;
        break;
      case 'process_power':
        out.process_power_mips = n(i.mips);
        break;
      case 'upstream_bandwidth':
      case 'downstream_bandwidth':
        out[`${i.type}_kbps`] = n(i.kbps);
        break;
      case 'software_version':
        out.software_version = i.version;
        break;
      case 'machine_uptime':
      case 'app_uptime':
        out[`${i.type}_s`] = n(i.seconds);
        break;
      case 'memory_footprint':
        out.memory_footprint_kib = n(i.kib);
        break;
      case 'datasize_stored':
        out.datasize_stored_bytes = n(i.bytes);
        break;
      case 'instances_stored':
        out.instances_stored = Object.fromEntries(i.instances.map((e) => [String(e.kind), n(e.instances)]));
        break;
      case 'messages_sent_rcvd':
        out.messages_sent_rcvd = Object.fromEntries(i.messages.map((m) => [`0x${m.code.toString(16).padStart(4, '0')}`, [n(m.sent), n(m.received)]]));
        break;
      case 'ewma_bytes_sent':
      case 'ewma_bytes_rcvd':
        out[`${i.type}_per_s`] = i.bytesPerSecond;
        break;
      case 'underlay_hop':
        out.underlay_hop = i.hops;
        break;
      case 'battery_status':
        out.battery_status = i.status;
        break;
      case 'unknown':
        out[diagnosticKindName(i.kind)] = toHex(i.contents);
        break;
    }
  }
  return out;
}

let cachedVersion: string | undefined;

/** "reload-node/<package version> (Node.js vX; linux x64)". */
export function defaultSoftwareVersion(): string {
  if (cachedVersion === undefined) {
    let version = 'unknown';
    // The package.json above this module (src/node in a checkout, dist/src/node when built).
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 5; i++) {
      try {
        const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (p.name === 'reload-node' && typeof p.version === 'string') {
          version = p.version;
          break;
        }
      } catch {
        // no package.json here
      }
      dir = dirname(dir);
    }
    cachedVersion = `reload-node/${version} (Node.js ${process.version}; ${process.platform} ${process.arch})`.replace(/[^\x20-\x7e]/g, '?');
  }
  return cachedVersion;
}

/** The RFC 7851 diagnostics of one node. ReloadNode makes one; reach it as `node.diagnostics`. */
export class NodeDiagnostics {
  private readonly allowed: (kind: number, requester: SignerInfo) => boolean;
  private readonly softwareVersion: string;
  private readonly intervalMs: number;
  private readonly alpha: number;
  // Lazily updated EWMA state (no timer: brought up to date whenever it is read).
  private lastSampleAt: number;
  private lastBytesOut: number;
  private lastBytesIn: number;
  private ewmaSent: number | undefined;
  private ewmaRcvd: number | undefined;
  private lastElu: EventLoopUtilization;
  private congestion = 0;

  constructor(
    private readonly node: ReloadNode,
    opts: DiagnosticsOptions = {},
  ) {
    this.allowed = accessFunction(opts.access ?? 'all');
    this.softwareVersion = opts.softwareVersion ?? defaultSoftwareVersion();
    if (!/^[\x01-\x7f]*$/.test(this.softwareVersion)) throw new RangeError('softwareVersion must be US-ASCII');
    this.intervalMs = opts.ewmaIntervalMs ?? EWMA_INTERVAL_MS;
    this.alpha = opts.ewmaAlpha ?? EWMA_ALPHA;
    if (!(this.intervalMs > 0) || !(this.alpha > 0 && this.alpha <= 1)) throw new RangeError('EWMA interval must be > 0 and alpha in (0, 1]');
    this.lastSampleAt = node.clock.monotonic();
    this.lastBytesOut = node.router.stats.bytesOut;
    this.lastBytesIn = node.router.stats.bytesIn;
    this.lastElu = performance.eventLoopUtilization();
    node.router.forwardCheck = (code, rest) => this.checkForwarded(code, rest);
  }

  // ------------------------------------------------------------------ measurements

  /** Brings the EWMAs and the congestion level up to date (RFC 7851 §6.13 formula). */
  private sample(): void {
    const now = this.node.clock.monotonic();
    const elapsed = now - this.lastSampleAt;
    const periods = Math.floor(elapsed / this.intervalMs);
    if (periods < 1) return;
    const stats = this.node.router.stats;
    // Traffic since the last sample, spread evenly over the periods it covers: each period's
    // rate is the same, so n updates collapse into one: ewma = r + (1-α)^n (ewma - r).
    const sentRate = ((stats.bytesOut - this.lastBytesOut) * 1000) / elapsed;
    const rcvdRate = ((stats.bytesIn - this.lastBytesIn) * 1000) / elapsed;
    const keep = (1 - this.alpha) ** periods;
    this.ewmaSent = this.ewmaSent === undefined ? sentRate : sentRate + keep * (this.ewmaSent - sentRate);
    this.ewmaRcvd = this.ewmaRcvd === undefined ? rcvdRate : rcvdRate + keep * (this.ewmaRcvd - rcvdRate);
    this.lastBytesOut = stats.bytesOut;
    this.lastBytesIn = stats.bytesIn;
    this.lastSampleAt = now;
    // STATUS_INFO congestion: how busy this process's event loop was over the same window.
    const elu = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(elu, this.lastElu);
    this.lastElu = elu;
    this.congestion = Math.max(0, Math.min(15, Math.round(delta.utilization * 15)));
  }

  /** Bytes per second sent and received (EWMA), and the congestion level 0..15. */
  rates(): { ewmaBytesSent: number; ewmaBytesRcvd: number; congestion: number } {
    this.sample();
    return { ewmaBytesSent: clampU32(this.ewmaSent ?? 0), ewmaBytesRcvd: clampU32(this.ewmaRcvd ?? 0), congestion: this.congestion };
  }

  /** Distinct peers in the topology's routing table (RFC 7851 §6.2). */
  routingTableSize(): number {
    if (!this.node.isPeer) return this.node.router.gateway ? 1 : 0;
    const s = this.node.topology?.snapshot();
    if (!s) return 0;
    return new Set([...s.predecessors, ...s.successors, ...s.fingers].map(toHex)).size;
  }

  /** The information for one Kind, or undefined when this node does not provide it. */
  private measure(kind: number): DiagnosticInfo | undefined {
    const node = this.node;
    switch (kind) {
      case DiagnosticKind.statusInfo:
        return { type: 'status_info', status: this.rates().congestion };
      case DiagnosticKind.routingTableSize:
        return { type: 'routing_table_size', peers: this.routingTableSize() };
      case DiagnosticKind.softwareVersion:
        return { type: 'software_version', version: this.softwareVersion };
      case DiagnosticKind.machineUptime:
        return { type: 'machine_uptime', seconds: BigInt(Math.floor(machineUptime())) };
      case DiagnosticKind.appUptime:
        return { type: 'app_uptime', seconds: BigInt(node.uptimeSeconds()) };
      case DiagnosticKind.memoryFootprint:
        return { type: 'memory_footprint', kib: BigInt(Math.ceil(process.memoryUsage().rss / 1024)) };
      case DiagnosticKind.datasizeStored:
        return { type: 'datasize_stored', bytes: BigInt(node.storage.storedBytes()) };
      case DiagnosticKind.instancesStored:
        return { type: 'instances_stored', instances: node.storage.statsByKind().map((k) => ({ kind: k.kind, instances: BigInt(k.values) })) };
      case DiagnosticKind.messagesSentRcvd:
        return {
          type: 'messages_sent_rcvd',
          messages: [...node.router.stats.byCode.entries()]
            .sort(([a], [b]) => a - b)
            .map(([code, [sent, received]]) => ({ code, sent: BigInt(sent), received: BigInt(received) })),
        };
      case DiagnosticKind.ewmaBytesSent:
        return { type: 'ewma_bytes_sent', bytesPerSecond: this.rates().ewmaBytesSent };
      case DiagnosticKind.ewmaBytesRcvd:
        return { type: 'ewma_bytes_rcvd', bytesPerSecond: this.rates().ewmaBytesRcvd };
      default:
        return undefined;
    }
  }

  /**
   * The requested and authorized information (RFC 7851 §5.2): the Kinds of dMFlags, then
   * extension Kinds (0x0040 and up; lower ones must come by dMFlags and are ignored).
   */
  collect(request: Pick<DiagnosticsRequest, 'dmFlags' | 'extensions'>, requester: SignerInfo): DiagnosticInfo[] {
    const kinds = kindsOfDmFlags(request.dmFlags);
    for (const e of request.extensions) if (e.kind > 0x3f && !kinds.includes(e.kind)) kinds.push(e.kind);
    const out: DiagnosticInfo[] = [];
    for (const k of kinds) {
      if (!PROVIDED_DIAGNOSTIC_KINDS.includes(k) || !this.allowed(k, requester)) continue;
      const info = this.measure(k);
      if (info) out.push(info);
    }
    return out;
  }

  // ------------------------------------------------------------------ responder

  /** Refuses an expired request, or one whose expiration is beyond 600 s (RFC 7851 §5.1). */
  private checkExpiration(expiration: bigint): void {
    const now = BigInt(this.node.clock.now());
    if (expiration < now) {
      throw new ReloadError(ErrorCode.messageExpired, `diagnostic request expired ${now - expiration} ms ago`);
    }
    if (expiration > now + BigInt(MAX_DIAGNOSTIC_LIFETIME_MS)) {
      throw new ReloadError(ErrorCode.invalidMessage, `diagnostic request expiration is ${expiration - now} ms ahead, more than 600 s`);
    }
  }

  private respond(req: IncomingRequest, request: DiagnosticsRequest): DiagnosticsResponse {
    const now = this.node.clock.now();
    return {
      expiration: BigInt(now + DIAGNOSTIC_LIFETIME_MS),
      timestampInitiated: request.timestampInitiated,
      timestampReceived: BigInt(now),
      // RFC 7851 §5.2: copied from the TTL of the request's forwarding header as received.
      hopCounter: req.message.header.ttl,
      info: this.collect(request, req.signer),
    };
  }

  /**
   * A Ping answer with the Diagnostic_Ping extension answered (RFC 7851 §5.1), when the
   * request carries one; the plain answer otherwise.
   */
  answerPing(req: IncomingRequest, answer: HandlerResult): HandlerResult {
    const ext = req.message.contents.extensions.find((e) => e.type === MessageExtensionType.diagnosticPing);
    if (!ext) return answer;
    let request: DiagnosticsRequest;
    try {
      request = decode(diagnosticsRequest, ext.contents);
    } catch (err) {
      throw new ReloadError(ErrorCode.invalidMessage, `Diagnostic_Ping extension: ${(err as Error).message}`);
    }
    this.checkExpiration(request.expiration);
    const response: MessageExtension = {
      type: MessageExtensionType.diagnosticPing,
      critical: false,
      contents: encode(diagnosticsResponse, this.respond(req, request)),
    };
    return { ...answer, extensions: [...(answer.extensions ?? []), response] };
  }

  /** PathTrack (RFC 7851 §5.4): this node's next hop toward the destination and its diagnostics. */
  handlePathTrack(req: IncomingRequest): HandlerResult {
    const p = decodeBody(MessageCode.pathTrackReq, req.message.contents.body, this.node.kinds);
    this.checkExpiration(p.request.expiration);
    const next = this.nextHopToward(p.destination);
    const body = encodeBody(MessageCode.pathTrackAns, { nextHop: { type: 'node', id: next }, response: this.respond(req, p.request) }, this.node.kinds);
    return { code: MessageCode.pathTrackAns, body };
  }

  /**
   * The node this node hands a message for `dest` to, as the router would: itself when
   * responsible (or when it is the destination), a directly linked destination node, else
   * the topology's next hop; a client's next hop is its gateway peer.
   */
  nextHopToward(dest: Destination): Uint8Array {
    const node = this.node;
    if (dest.type !== 'node' && dest.type !== 'resource') {
      throw new ReloadError(ErrorCode.invalidMessage, `PathTrack needs a Node-ID or Resource-ID destination, not ${dest.type}`);
    }
    if (dest.type === 'node') {
      if (isWildcardNodeId(dest.id)) throw new ReloadError(ErrorCode.invalidMessage, 'PathTrack to the wildcard Node-ID');
      if (bytesEqual(dest.id, node.nodeId)) return node.nodeId;
      if (node.router.table.byNode(dest.id)) return dest.id;
    }
    if (!node.isPeer) {
      const g = node.router.gateway?.nodeId;
      if (!g) throw ReloadError.notFound('no route: this client has no gateway peer');
      return g;
    }
    if (node.topology.isResponsible(dest.id)) return node.nodeId;
    const hop = node.topology.nextHop(dest.id);
    if (!hop) throw ReloadError.notFound(`no route toward ${toHex(dest.id)}`);
    return hop;
  }

  /** Router.forwardCheck: an expired diagnostic request stops at the intermediate peer. */
  private checkForwarded(code: number, rest: Uint8Array): { errorCode: number; text: string } | undefined {
    if (code !== MessageCode.pathTrackReq && code !== MessageCode.pingReq) return undefined;
    let expiration: bigint | undefined;
    try {
      const c = messageContents.decode(new Reader(rest));
      if (code === MessageCode.pathTrackReq) {
        expiration = decodeBody(MessageCode.pathTrackReq, c.body, this.node.kinds).request.expiration;
      } else {
        const ext = c.extensions.find((e) => e.type === MessageExtensionType.diagnosticPing);
        if (ext) expiration = decode(diagnosticsRequest, ext.contents).expiration;
      }
    } catch {
      return undefined; // not ours to judge: the destination answers a malformed request
    }
    if (expiration !== undefined && expiration < BigInt(this.node.clock.now())) {
      return { errorCode: ErrorCode.messageExpired, text: 'diagnostic request expired in transit' };
    }
    return undefined;
  }

  // ------------------------------------------------------------------ initiator

  private request(q: DiagnosticQuery): DiagnosticsRequest {
    const lifetime = q.lifetimeMs ?? DIAGNOSTIC_LIFETIME_MS;
    const now = this.node.clock.now();
    return {
      expiration: BigInt(now + lifetime),
      timestampInitiated: BigInt(now),
      dmFlags: q.dmFlags ?? DM_FLAGS_ALL,
      extensions: q.extensions ?? [],
    };
  }

  /**
   * A Ping with the Diagnostic_Ping extension (RFC 7851 §5.1) to a Node-ID or the node
   * responsible for a Resource-ID (never the wildcard).
   */
  async ping(dest: Destination, q: DiagnosticQuery = {}): Promise<DiagnosticPingResult> {
    if (dest.type === 'node' && isWildcardNodeId(dest.id)) {
      throw new ReloadError(ErrorCode.invalidMessage, 'a diagnostic Ping must not target the wildcard Node-ID (RFC 7851 §5.1)');
    }
    const node = this.node;
    const ext: MessageExtension = { type: MessageExtensionType.diagnosticPing, critical: false, contents: encode(diagnosticsRequest, this.request(q)) };
    const t0 = node.clock.monotonic();
    const ans = await node.router.request([dest], MessageCode.pingReq, encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, node.kinds), {
      extensions: [ext],
      acceptPathErrors: true,
      ...(q.signal ? { signal: q.signal } : {}),
    });
    const rttMs = node.clock.monotonic() - t0;
    const p = decodeBody(MessageCode.pingAns, ans.body, node.kinds);
    const back = ans.extensions?.find((e) => e.type === MessageExtensionType.diagnosticPing);
    let response: DiagnosticsResponse | undefined;
    if (back) {
      try {
        response = decode(diagnosticsResponse, back.contents);
      } catch (err) {
        node.log.debug('undecodable Diagnostic_Ping answer', { from: toHex(ans.from), error: (err as Error).message });
      }
    }
    return { from: ans.from, rttMs, hops: ans.hops, time: p.time, response };
  }

  /**
   * An iterative PathTrack walk (RFC 7851 §5.4): asks the first hop for its next hop toward
   * `dest` and its diagnostics, then that next hop (source-routed along the path found so
   * far, symmetric routing), and so on until a node names itself: it is responsible. Yields
   * each hop as it answers. A path that comes back to a node it passed is an
   * Error_Loop_Detected; more than `maxHops` (default initial-ttl) an Error_TTL_Hops_Exceeded.
   */
  async *pathTrack(dest: Destination, q: DiagnosticQuery & { maxHops?: number } = {}): AsyncGenerator<PathTrackHop> {
    const node = this.node;
    if (dest.type === 'node' && isWildcardNodeId(dest.id)) {
      throw new ReloadError(ErrorCode.invalidMessage, 'PathTrack must not target the wildcard Node-ID (RFC 7851 §5.4)');
    }
    const maxHops = q.maxHops ?? node.params.initialTtl;
    const route: Destination[] = [];
    const seen = new Set<string>();
    let next = this.nextHopToward(dest);
    for (let hop = 1; hop <= maxHops; hop++) {
      const key = toHex(next);
      if (seen.has(key)) throw new ReloadError(ErrorCode.loopDetected, `the path comes back to ${key} at hop ${hop}`);
      seen.add(key);
      const body = encodeBody(MessageCode.pathTrackReq, { destination: dest, request: this.request(q) }, node.kinds);
      const t0 = node.clock.monotonic();
      const ans = await node.router.request([...route, { type: 'node', id: next }], MessageCode.pathTrackReq, body, {
        acceptPathErrors: true,
        ...(q.signal ? { signal: q.signal } : {}),
      });
      const rttMs = node.clock.monotonic() - t0;
      const a = decodeBody(MessageCode.pathTrackAns, ans.body, node.kinds);
      if (a.nextHop.type !== 'node') throw new ReloadError(ErrorCode.invalidMessage, `PathTrackAns next_hop is a ${a.nextHop.type} destination`);
      const responsible = bytesEqual(a.nextHop.id, ans.from);
      yield { hop, nodeId: ans.from, nextHop: a.nextHop.id, responsible, rttMs, hops: ans.hops, response: a.response };
      if (responsible) return;
      // Never source-route through ourselves: the router starts from this node anyway.
      if (!bytesEqual(ans.from, node.nodeId)) route.push({ type: 'node', id: ans.from });
      next = a.nextHop.id;
    }
    throw new ReloadError(ErrorCode.ttlHopsExceeded, `no responsible node within ${maxHops} hops`);
  }

  /** The whole PathTrack walk. */
  async pathTrackAll(dest: Destination, q: DiagnosticQuery & { maxHops?: number } = {}): Promise<PathTrackHop[]> {
    const out: PathTrackHop[] = [];
    for await (const h of this.pathTrack(dest, q)) out.push(h);
    return out;
  }
}

function accessFunction(a: DiagnosticsAccess): (kind: number, requester: SignerInfo) => boolean {
  if (typeof a === 'function') return a;
  if (a === 'all') return () => true;
  if (a === 'none') return () => false;
  if (Array.isArray(a)) {
    const set = new Set(a);
    return (k) => set.has(k);
  }
  throw new RangeError(`diagnostics access must be 'all', 'none', a list of Kind-IDs or a function`);
}

function clampU32(v: number): number {
  return Math.max(0, Math.min(0xffffffff, Math.round(v)));
}
