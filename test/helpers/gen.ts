/**
 * Seeded generators of random *valid* values for every RELOAD wire structure and for whole
 * messages, for property tests and as the fuzz corpus. Deterministic for a seed
 * (SeededRandom, xoshiro128**). Sizes are biased small, with occasional large values, so
 * thousands of values stay fast while the length prefixes still see big numbers.
 */
import { SeededRandom } from '../../src/common/random.js';
import { encode } from '../../src/wire/codec.js';
import { ErrorCode, MessageCode } from '../../src/wire/constants.js';
import { type WireContext, wireContext } from '../../src/wire/context.js';
import type { Destination } from '../../src/wire/destination.js';
import type { ForwardingHeader, ForwardingOption } from '../../src/wire/forwarding-header.js';
import { forwardingHeaderSize } from '../../src/wire/forwarding-header.js';
import type { GenericCertificate, SecurityBlock, Signature, SignerIdentity } from '../../src/wire/security-block.js';
import type { Message, MessageContents, MessageExtension } from '../../src/wire/message.js';
import {
  type AppAttachReqAns,
  type AttachReqAns,
  type IceCandidate,
  type IceExtension,
  type IpAddressPort,
  formatIPv6,
} from '../../src/wire/attach.js';
import type { PingAns, PingReq } from '../../src/wire/ping.js';
import type { DiagnosticInfo, DiagnosticsRequest, DiagnosticsResponse, PathTrackAns, PathTrackReq } from '../../src/wire/diagnostics.js';
import type { ProbeAns, ProbeInformation, ProbeReq } from '../../src/wire/probe.js';
import type { ConfigUpdateReq } from '../../src/wire/config-update.js';
import type { JoinAns, JoinReq, LeaveReq, RouteQueryReq } from '../../src/wire/overlay.js';
import { type ChordLeaveData, type ChordRouteQueryAns, type ChordUpdate, chordCodecs } from '../../src/wire/chord.js';
import { type ErrorResponse, unknownKinds } from '../../src/wire/error.js';
import {
  type ArrayRange,
  type DataValue,
  type FetchAns,
  type FetchReq,
  type FindAns,
  type FindReq,
  type MetaData,
  type MetaDataValue,
  type StatAns,
  type StoreAns,
  type StoreReq,
  type StoredData,
  type StoredDataSpecifier,
  type StoredDataValue,
  type StoredMetaData,
  storageCodecs,
} from '../../src/wire/storage.js';
import type { DataModel } from '../../src/wire/constants.js';
import { type BodyCode, type BodyTypes, encodeBody } from '../../src/wire/body.js';
import type { FramedMessage } from '../../src/wire/framing.js';

/** Private-use Kinds (RFC 6940 §14.3: 0xF0000001-0xFFFFFFFE) with a model for each. */
export const KIND_SINGLE = 0xf0000001;
export const KIND_ARRAY = 0xf0000002;
export const KIND_DICTIONARY = 0xf0000003;
/** A Kind nobody here knows: its values stay raw. */
export const KIND_UNKNOWN = 0xf00000ff;

/** The context the generated storage values are valid in (NodeIdLength 16). */
export const GEN_CONTEXT: WireContext = wireContext([
  [KIND_SINGLE, 'single'],
  [KIND_ARRAY, 'array'],
  [KIND_DICTIONARY, 'dictionary'],
]);

/** Every message code that has a typed body (body.ts). */
export const BODY_CODES: readonly BodyCode[] = [
  MessageCode.probeReq,
  MessageCode.probeAns,
  MessageCode.attachReq,
  MessageCode.attachAns,
  MessageCode.storeReq,
  MessageCode.storeAns,
  MessageCode.fetchReq,
  MessageCode.fetchAns,
  MessageCode.findReq,
  MessageCode.findAns,
  MessageCode.joinReq,
  MessageCode.joinAns,
  MessageCode.leaveReq,
  MessageCode.leaveAns,
  MessageCode.updateReq,
  MessageCode.updateAns,
  MessageCode.routeQueryReq,
  MessageCode.routeQueryAns,
  MessageCode.pingReq,
  MessageCode.pingAns,
  MessageCode.statReq,
  MessageCode.statAns,
  MessageCode.appAttachReq,
  MessageCode.appAttachAns,
  MessageCode.configUpdateReq,
  MessageCode.configUpdateAns,
  MessageCode.pathTrackReq,
  MessageCode.pathTrackAns,
  MessageCode.error,
];

export class Gen {
  readonly rnd: SeededRandom;

  constructor(
    seed: number | string,
    readonly ctx: WireContext = GEN_CONTEXT,
  ) {
    this.rnd = new SeededRandom(seed);
  }

  // ---- primitives ----------------------------------------------------------------------

  /** An integer in [0, n). */
  int(n: number): number {
    return this.rnd.int(n);
  }

  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    return lo + this.rnd.int(hi - lo + 1);
  }

  bool(p = 0.5): boolean {
    return this.rnd.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.rnd.int(xs.length)]!;
  }

  u8(): number {
    return this.rnd.int(256);
  }

  u16(): number {
    return this.rnd.int(0x10000);
  }

  /** A uint32, with the edge values 0 and 2^32-1 now and then. */
  u32(): number {
    const r = this.rnd.float();
    if (r < 0.05) return 0;
    if (r < 0.1) return 0xffffffff;
    return this.rnd.next32() >>> 0;
  }

  u64(): bigint {
    const r = this.rnd.float();
    if (r < 0.05) return 0n;
    if (r < 0.1) return 0xffffffffffffffffn;
    return this.rnd.u64();
  }

  bytes(n: number): Uint8Array {
    return this.rnd.bytes(n);
  }

  /** A length in [0, max], biased small: most are below 9, some below 65, a few up to max. */
  len(max: number): number {
    const r = this.rnd.float();
    if (r < 0.5) return this.rnd.int(Math.min(max, 8) + 1);
    if (r < 0.85) return this.rnd.int(Math.min(max, 64) + 1);
    if (r < 0.97) return this.rnd.int(Math.min(max, 300) + 1);
    return max - this.rnd.int(Math.min(max, 3) + 1);
  }

  opaque(max: number): Uint8Array {
    return this.bytes(this.len(max));
  }

  array<T>(maxCount: number, f: () => T): T[] {
    const n = this.rnd.float() < 0.7 ? this.rnd.int(Math.min(maxCount, 3) + 1) : this.rnd.int(maxCount + 1);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(f());
    return out;
  }

  // ---- identifiers and destinations ---------------------------------------------------

  nodeId(length = this.ctx.nodeIdLength): Uint8Array {
    return this.bytes(length);
  }

  resourceId(): Uint8Array {
    return this.bool(0.7) ? this.bytes(this.ctx.nodeIdLength) : this.opaque(254);
  }

  /** Any destination form except resource (what a Via List may hold). */
  viaDestination(): Destination {
    switch (this.int(3)) {
      case 0:
        return { type: 'node', id: this.bytes(this.bool(0.8) ? 16 : this.range(16, 20)) };
      case 1:
        return { type: 'opaque', id: this.opaque(254) };
      default:
        return { type: 'compressed', id: this.range(0x8000, 0xffff) };
    }
  }

  destination(): Destination {
    return this.bool(0.25) ? { type: 'resource', id: this.resourceId() } : this.viaDestination();
  }

  viaList(max = 6): Destination[] {
    return this.array(max, () => this.viaDestination());
  }

  /** A Destination List: a resource entry only in the last place (RFC 6940 §6.3.2.2). */
  destinationList(max = 6): Destination[] {
    const list = this.array(max, () => this.viaDestination());
    if (this.bool(0.3)) list.push({ type: 'resource', id: this.resourceId() });
    if (list.length === 0) list.push(this.viaDestination());
    return list;
  }

  forwardingOption(): ForwardingOption {
    return { type: this.range(1, 255), flags: this.u8(), value: this.opaque(400) };
  }

  /** A forwarding header; `length` is the header's own size plus `payload` bytes. */
  forwardingHeader(payload = this.int(5000), fragment?: number): ForwardingHeader {
    const h: ForwardingHeader = {
      overlay: this.u32(),
      configurationSequence: this.u16(),
      version: this.bool(0.8) ? 0x0a : this.u8(),
      ttl: this.u8(),
      fragment: fragment ?? (0x80000000 | (this.rnd.next32() & 0x7fffffff)) >>> 0,
      length: 0,
      transactionId: this.u64(),
      maxResponseLength: this.u32(),
      viaList: this.viaList(),
      destinationList: this.destinationList(),
      options: this.array(3, () => this.forwardingOption()),
    };
    h.length = forwardingHeaderSize(h) + payload;
    return h;
  }

  // ---- security block -----------------------------------------------------------------

  signerIdentity(): SignerIdentity {
    switch (this.int(4)) {
      case 0:
        return { type: 'cert_hash', hashAlg: this.u8(), hash: this.opaque(255) };
      case 1:
        return { type: 'cert_hash_node_id', hashAlg: this.u8(), hash: this.opaque(255) };
      case 2:
        return { type: 'none' };
      default:
        return { type: 'unknown', code: this.range(4, 255), value: this.opaque(200) };
    }
  }

  signature(): Signature {
    return { hashAlg: this.u8(), sigAlg: this.u8(), identity: this.signerIdentity(), value: this.opaque(600) };
  }

  genericCertificate(): GenericCertificate {
    return { type: this.u8(), certificate: this.opaque(1200) };
  }

  securityBlock(): SecurityBlock {
    return { certificates: this.array(3, () => this.genericCertificate()), signature: this.signature() };
  }

  // ---- message ------------------------------------------------------------------------

  messageExtension(): MessageExtension {
    return { type: this.range(1, 0xffff), critical: this.bool(), contents: this.opaque(300) };
  }

  /** A code with a typed body, or (now and then) an arbitrary non-zero code with raw bytes. */
  messageContents(): MessageContents & { typed?: { code: BodyCode; body: unknown } } {
    const extensions = this.array(3, () => this.messageExtension());
    if (this.bool(0.9)) {
      const code = this.pick(BODY_CODES);
      const body = this.body(code);
      return { code, body: encodeBody(code, body as never, this.ctx), extensions, typed: { code, body } };
    }
    return { code: this.range(1, 0xffff), body: this.opaque(500), extensions };
  }

  /** A whole (unfragmented) message; `header.length` is set by encodeMessage. */
  message(): Message & { typed?: { code: BodyCode; body: unknown } } {
    const { typed, ...contents } = this.messageContents();
    // Whole message: offset 0 and the last-fragment flag; now and then reserved bits set.
    const reserved = this.bool(0.9) ? 0 : (this.u8() << 24) & 0x3f000000;
    const header = this.forwardingHeader(0, (0xc0000000 | reserved) >>> 0);
    const m: Message & { typed?: { code: BodyCode; body: unknown } } = {
      header,
      contents,
      security: this.securityBlock(),
    };
    if (typed) m.typed = typed;
    return m;
  }

  // ---- common sub-structures ----------------------------------------------------------

  ipAddressPort(): IpAddressPort {
    switch (this.int(5)) {
      case 0:
      case 1: {
        const a = this.bytes(4);
        return { family: 'ipv4', address: `${a[0]}.${a[1]}.${a[2]}.${a[3]}`, port: this.u16() };
      }
      case 2:
      case 3: {
        const a = this.bytes(16);
        // Zero runs of random length and place exercise the "::" compression.
        const zeroFrom = this.int(8) * 2;
        const zeroTo = Math.min(16, zeroFrom + this.int(8) * 2);
        a.fill(0, zeroFrom, zeroTo);
        return { family: 'ipv6', address: formatIPv6(a), port: this.u16() };
      }
      default:
        return { family: 'unknown', type: this.range(3, 255), value: this.opaque(255) };
    }
  }

  iceExtension(): IceExtension {
    return { name: this.opaque(40), value: this.opaque(100) };
  }

  iceCandidate(): IceCandidate {
    const candType = this.pick([1, 2, 4]);
    const c: IceCandidate = {
      addrPort: this.ipAddressPort(),
      overlayLink: this.bool(0.8) ? this.pick([1, 3, 4]) : this.range(1, 255),
      foundation: this.opaque(32),
      priority: this.u32(),
      candType,
      extensions: this.array(3, () => this.iceExtension()),
    };
    if (candType !== 1) c.relAddrPort = this.ipAddressPort();
    return c;
  }

  attachReqAns(): AttachReqAns {
    return {
      ufrag: this.opaque(255),
      password: this.opaque(255),
      role: this.pick([new TextEncoder().encode('passive'), new TextEncoder().encode('active'), this.opaque(255)]),
      candidates: this.array(4, () => this.iceCandidate()),
      sendUpdate: this.bool(),
    };
  }

  appAttachReqAns(): AppAttachReqAns {
    return {
      ufrag: this.opaque(255),
      password: this.opaque(255),
      application: this.bool(0.5) ? this.pick([5060, 5061]) : this.u16(),
      role: this.opaque(255),
      candidates: this.array(4, () => this.iceCandidate()),
    };
  }

  pingReq(): PingReq {
    return { padding: this.bool(0.95) ? this.opaque(300) : this.bytes(this.range(300, 0xffff)) };
  }

  pingAns(): PingAns {
    return { responseId: this.u64(), time: this.u64() };
  }

  // ---- RFC 7851 diagnostics ------------------------------------------------------------

  diagnosticsRequest(): DiagnosticsRequest {
    return {
      expiration: this.u64(),
      timestampInitiated: this.u64(),
      dmFlags: this.u64(),
      extensions: this.array(4, () => ({ kind: this.u16(), contents: this.opaque(600) })),
    };
  }

  diagnosticInfo(): DiagnosticInfo {
    const u64 = (): bigint => this.u64();
    switch (this.int(17)) {
      case 0:
        return { type: 'status_info', status: this.u8() };
      case 1:
        return { type: 'routing_table_size', peers: this.u32() };
      case 2:
        return { type: 'process_power', mips: u64() };
      case 3:
        return { type: 'upstream_bandwidth', kbps: u64() };
      case 4:
        return { type: 'downstream_bandwidth', kbps: u64() };
      case 5:
        return { type: 'software_version', version: Array.from({ length: this.len(200) }, () => String.fromCharCode(this.range(1, 0x7f))).join('') };
      case 6:
        return { type: 'machine_uptime', seconds: u64() };
      case 7:
        return { type: 'app_uptime', seconds: u64() };
      case 8:
        return { type: 'memory_footprint', kib: u64() };
      case 9:
        return { type: 'datasize_stored', bytes: u64() };
      case 10:
        return { type: 'instances_stored', instances: this.array(20, () => ({ kind: this.u32(), instances: u64() })) };
      case 11:
        return { type: 'messages_sent_rcvd', messages: this.array(20, () => ({ code: this.u16(), sent: u64(), received: u64() })) };
      case 12:
        return { type: 'ewma_bytes_sent', bytesPerSecond: this.u32() };
      case 13:
        return { type: 'ewma_bytes_rcvd', bytesPerSecond: this.u32() };
      case 14:
        return { type: 'underlay_hop', hops: this.u8() };
      case 15:
        return { type: 'battery_status', status: this.u8() };
      default:
        // Kinds without a typed form: 0 (reserved) and 0x0011 up.
        return { type: 'unknown', kind: this.bool(0.1) ? 0 : this.range(0x11, 0xffff), contents: this.opaque(300) };
    }
  }

  diagnosticsResponse(): DiagnosticsResponse {
    return {
      expiration: this.u64(),
      timestampInitiated: this.u64(),
      timestampReceived: this.u64(),
      hopCounter: this.u8(),
      info: this.array(6, () => this.diagnosticInfo()),
    };
  }

  pathTrackReq(): PathTrackReq {
    return { destination: this.destination(), request: this.diagnosticsRequest() };
  }

  pathTrackAns(): PathTrackAns {
    return { nextHop: this.destination(), response: this.diagnosticsResponse() };
  }

  probeReq(): ProbeReq {
    return { requestedInfo: this.array(this.bool(0.95) ? 8 : 255, () => this.range(1, 255)) };
  }

  probeInformation(): ProbeInformation {
    switch (this.int(4)) {
      case 0:
        return { type: 'responsible_set', responsiblePpb: this.u32() };
      case 1:
        return { type: 'num_resources', numResources: this.u32() };
      case 2:
        return { type: 'uptime', uptime: this.u32() };
      default:
        return { type: 'unknown', code: this.range(4, 255), value: this.opaque(255) };
    }
  }

  probeAns(): ProbeAns {
    return { probeInfo: this.array(6, () => this.probeInformation()) };
  }

  configUpdateReq(): ConfigUpdateReq {
    if (this.bool()) return { type: 'config', configData: this.opaque(3000) };
    return { type: 'kind', kinds: this.array(4, () => this.opaque(500)) };
  }

  // ---- topology -----------------------------------------------------------------------

  nodeIds(max = 6): Uint8Array[] {
    return this.array(max, () => this.nodeId());
  }

  chordUpdate(): ChordUpdate {
    const uptime = this.u32();
    switch (this.int(3)) {
      case 0:
        return { uptime, type: 'peer_ready' };
      case 1:
        return { uptime, type: 'neighbors', predecessors: this.nodeIds(), successors: this.nodeIds() };
      default:
        return { uptime, type: 'full', predecessors: this.nodeIds(), successors: this.nodeIds(), fingers: this.nodeIds(20) };
    }
  }

  chordLeaveData(): ChordLeaveData {
    return this.bool() ? { type: 'from_succ', successors: this.nodeIds() } : { type: 'from_pred', predecessors: this.nodeIds() };
  }

  chordRouteQueryAns(): ChordRouteQueryAns {
    return { nextPeer: this.nodeId() };
  }

  joinReq(): JoinReq {
    return { joiningPeerId: this.nodeId(), overlaySpecificData: this.bool(0.7) ? new Uint8Array(0) : this.opaque(300) };
  }

  joinAns(): JoinAns {
    return { overlaySpecificData: this.bool(0.7) ? new Uint8Array(0) : this.opaque(300) };
  }

  leaveReq(): LeaveReq {
    const data = this.bool(0.7) ? encode(chordCodecs(this.ctx.nodeIdLength).leaveData, this.chordLeaveData()) : this.opaque(300);
    return { leavingPeerId: this.nodeId(), overlaySpecificData: data };
  }

  routeQueryReq(): RouteQueryReq {
    return { sendUpdate: this.bool(), destination: this.destination(), overlaySpecificData: this.bool(0.7) ? new Uint8Array(0) : this.opaque(300) };
  }

  // ---- errors -------------------------------------------------------------------------

  kindIds(max = 63): number[] {
    return this.array(max, () => this.u32());
  }

  errorResponse(): ErrorResponse {
    switch (this.int(3)) {
      case 0:
        return { errorCode: ErrorCode.unknownKind, errorInfo: encode(unknownKinds, this.kindIds()) };
      case 1:
        return {
          errorCode: ErrorCode.generationCounterTooLow,
          errorInfo: encode(storageCodecs(this.ctx).storeAns, this.storeAns()),
        };
      default:
        return { errorCode: this.range(1, 0xffff), errorInfo: this.opaque(500) };
    }
  }

  // ---- storage ------------------------------------------------------------------------

  /** A Kind of each model, or one the context does not know. */
  kind(): number {
    return this.pick([1, 2, 3, 0x10, KIND_SINGLE, KIND_ARRAY, KIND_DICTIONARY, KIND_UNKNOWN, 0x7777]);
  }

  dataValue(): DataValue {
    return this.bool(0.1) ? { exists: false, value: new Uint8Array(0) } : { exists: this.bool(0.9), value: this.opaque(1000) };
  }

  storedDataValue(model: DataModel): StoredDataValue {
    switch (model) {
      case 'single':
        return { model, value: this.dataValue() };
      case 'array':
        return { model, index: this.bool(0.2) ? 0xffffffff : this.u32(), value: this.dataValue() };
      case 'dictionary':
        return { model, key: this.opaque(100), value: this.dataValue() };
    }
  }

  storedData(model: DataModel | undefined): StoredData {
    const storageTime = this.u64();
    const lifetime = this.u32();
    if (model === undefined) return { storageTime, lifetime, value: { model: 'unknown', raw: this.opaque(600) } };
    return { storageTime, lifetime, value: this.storedDataValue(model), signature: this.signature() };
  }

  storedDataOfKind(kind: number): StoredData {
    return this.storedData(this.ctx.dataModel(kind));
  }

  storeReq(): StoreReq {
    return {
      resource: this.resourceId(),
      replicaNumber: this.bool(0.7) ? 0 : this.u8(),
      kindData: this.array(3, () => {
        const kind = this.kind();
        return { kind, generationCounter: this.u64(), values: this.array(3, () => this.storedDataOfKind(kind)) };
      }),
    };
  }

  storeAns(): StoreAns {
    return {
      kindResponses: this.array(4, () => ({ kind: this.u32(), generationCounter: this.u64(), replicas: this.nodeIds(3) })),
    };
  }

  /** Disjoint ranges (RFC 6940 §7.4.2.1), in random order. */
  arrayRanges(): ArrayRange[] {
    const bounds = this.array(8, () => this.u32()).sort((a, b) => a - b);
    const out: ArrayRange[] = [];
    for (let i = 0; i + 1 < bounds.length; i += 2) {
      if (out.length && bounds[i]! <= out[out.length - 1]!.last) continue;
      out.push({ first: bounds[i]!, last: bounds[i + 1]! });
    }
    if (this.bool(0.2)) {
      const a = this.u32();
      if (!out.length || a > out[out.length - 1]!.last) out.push({ first: a, last: 0xffffffff });
    }
    for (let j = out.length - 1; j > 0; j--) {
      const k = this.int(j + 1);
      [out[j], out[k]] = [out[k]!, out[j]!];
    }
    return out;
  }

  specifier(kind = this.kind()): StoredDataSpecifier {
    const generation = this.u64();
    switch (this.ctx.dataModel(kind)) {
      case 'single':
        return { kind, generation, model: 'single' };
      case 'array':
        return { kind, generation, model: 'array', indices: this.arrayRanges() };
      case 'dictionary':
        return { kind, generation, model: 'dictionary', keys: this.array(4, () => this.opaque(64)) };
      case undefined:
        return { kind, generation, model: 'unknown', raw: this.opaque(300) };
    }
  }

  fetchReq(): FetchReq {
    return { resource: this.resourceId(), specifiers: this.array(4, () => this.specifier()) };
  }

  fetchAns(): FetchAns {
    return {
      kindResponses: this.array(3, () => {
        const kind = this.kind();
        return { kind, generation: this.u64(), values: this.array(3, () => this.storedDataOfKind(kind)) };
      }),
    };
  }

  metaData(): MetaData {
    return { exists: this.bool(0.9), valueLength: this.u32(), hashAlgorithm: this.u8(), hashValue: this.opaque(255) };
  }

  metaDataValue(model: DataModel | undefined): MetaDataValue {
    switch (model) {
      case 'single':
        return { model, metadata: this.metaData() };
      case 'array':
        return { model, index: this.u32(), metadata: this.metaData() };
      case 'dictionary':
        return { model, key: this.opaque(100), metadata: this.metaData() };
      case undefined:
        return { model: 'unknown', raw: this.opaque(200) };
    }
  }

  storedMetaData(model: DataModel | undefined): StoredMetaData {
    return { storageTime: this.u64(), lifetime: this.u32(), metadata: this.metaDataValue(model) };
  }

  statAns(): StatAns {
    return {
      kindResponses: this.array(3, () => {
        const kind = this.kind();
        return { kind, generation: this.u64(), values: this.array(3, () => this.storedMetaData(this.ctx.dataModel(kind))) };
      }),
    };
  }

  findReq(): FindReq {
    return { resource: this.resourceId(), kinds: this.kindIds() };
  }

  findAns(): FindAns {
    return { results: this.array(5, () => ({ kind: this.u32(), closest: this.bool(0.8) ? this.resourceId() : new Uint8Array(0) })) };
  }

  // ---- bodies and frames --------------------------------------------------------------

  /** A random valid body for a message code. */
  body<C extends BodyCode>(code: C): BodyTypes[C] {
    return this.anyBody(code) as BodyTypes[C];
  }

  private anyBody(code: BodyCode): unknown {
    switch (code) {
      case MessageCode.probeReq:
        return this.probeReq();
      case MessageCode.probeAns:
        return this.probeAns();
      case MessageCode.attachReq:
      case MessageCode.attachAns:
        return this.attachReqAns();
      case MessageCode.storeReq:
        return this.storeReq();
      case MessageCode.storeAns:
        return this.storeAns();
      case MessageCode.fetchReq:
      case MessageCode.statReq:
        return this.fetchReq();
      case MessageCode.fetchAns:
        return this.fetchAns();
      case MessageCode.findReq:
        return this.findReq();
      case MessageCode.findAns:
        return this.findAns();
      case MessageCode.joinReq:
        return this.joinReq();
      case MessageCode.joinAns:
        return this.joinAns();
      case MessageCode.leaveReq:
        return this.leaveReq();
      case MessageCode.leaveAns:
      case MessageCode.updateAns:
      case MessageCode.configUpdateAns:
        return {};
      case MessageCode.updateReq:
        return this.chordUpdate();
      case MessageCode.routeQueryReq:
        return this.routeQueryReq();
      case MessageCode.routeQueryAns:
        return this.chordRouteQueryAns();
      case MessageCode.pingReq:
        return this.pingReq();
      case MessageCode.pingAns:
        return this.pingAns();
      case MessageCode.statAns:
        return this.statAns();
      case MessageCode.appAttachReq:
      case MessageCode.appAttachAns:
        return this.appAttachReqAns();
      case MessageCode.configUpdateReq:
        return this.configUpdateReq();
      case MessageCode.pathTrackReq:
        return this.pathTrackReq();
      case MessageCode.pathTrackAns:
        return this.pathTrackAns();
      case MessageCode.error:
        return this.errorResponse();
    }
  }

  frame(): FramedMessage {
    return this.bool(0.6)
      ? { type: 'data', sequence: this.u32(), message: this.opaque(2000) }
      : { type: 'ack', ackSequence: this.u32(), received: this.u32() };
  }
}
