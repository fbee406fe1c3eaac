/**
 * RELOAD overlay diagnostics (RFC 7851): the DiagnosticsRequest carried by the
 * Diagnostic_Ping message extension and by PathTrackReq, the DiagnosticsResponse carried
 * back by PingAns and PathTrackAns, and the DiagnosticInfo of each diagnostic Kind
 * (RFC 7851 §5.1, §5.2, §5.3, §6).
 *
 *   struct { DiagnosticKindId kind; opaque diagnostic_extension_contents<0..2^32-1>; } DiagnosticExtension;
 *   struct { uint64 expiration; uint64 timestamp_initiated; uint64 dMFlags; uint32 ext_length;
 *            DiagnosticExtension diagnostic_extensions_list<0..2^32-1>; } DiagnosticsRequest;
 *   struct { DiagnosticKindId kind; opaque diagnostic_info_contents<0..2^16-1>; } DiagnosticInfo;
 *   struct { uint64 expiration; uint64 timestamp_initiated; uint64 timestamp_received;
 *            uint8 hop_counter; uint32 ext_length;
 *            DiagnosticInfo diagnostic_info_list<0..2^32-1>; } DiagnosticsResponse;
 *   struct { Destination destination; DiagnosticsRequest request; } PathTrackReq;
 *   struct { Destination next_hop; DiagnosticsResponse response; } PathTrackAns;
 *
 * Decision on `ext_length` (the RFC puts a uint32 ext_length in front of a vector that, by
 * the presentation language, carries its own 4-byte length prefix): we read it the way
 * Wireshark's RELOAD dissector does (dissect_diagnosticrequest, the only independent
 * decoder), i.e. ext_length counts every byte that follows it — the vector's 4-byte prefix
 * and its elements — and ext_length = 0 means "no list", with no vector prefix at all:
 *
 *   no extensions:  ... dMFlags | 00000000
 *   extensions:     ... dMFlags | uint32 (4 + n) | uint32 n | n bytes of DiagnosticExtension
 *
 * The DiagnosticsResponse's ext_length / diagnostic_info_list pair follows the same rule.
 * Decoding is strict: an ext_length that does not equal 4 + the vector's length is a
 * DecodeError.
 *
 * Decision on the two list-valued Kinds (RFC 7851 §6.11/§6.12 describe "an array indexed by
 * Kind-ID / message code" without a wire form): like Wireshark, INSTANCES_STORED is a run of
 * { uint32 kind; uint64 instances } (12 bytes each) and MESSAGES_SENT_RCVD a run of
 * { uint16 message_code; uint64 sent; uint64 rcvd } (18 bytes each), filling the
 * diagnostic_info_contents.
 *
 * Timestamps and expirations are milliseconds since the Unix epoch (RFC 7851 §5.1).
 */
import { type Codec, DecodeError, EncodeError, type Reader, type Writer, checkFits, vectorOf } from './codec.js';
import { type Destination, destination } from './destination.js';

/** Diagnostic Kind-IDs (RFC 7851 §9.6 "RELOAD Diagnostic Kind ID" registry). */
export const DiagnosticKind = {
  reserved: 0x0000,
  statusInfo: 0x0001,
  routingTableSize: 0x0002,
  processPower: 0x0003,
  upstreamBandwidth: 0x0004,
  downstreamBandwidth: 0x0005,
  softwareVersion: 0x0006,
  machineUptime: 0x0007,
  appUptime: 0x0008,
  memoryFootprint: 0x0009,
  datasizeStored: 0x000a,
  instancesStored: 0x000b,
  messagesSentRcvd: 0x000c,
  ewmaBytesSent: 0x000d,
  ewmaBytesRcvd: 0x000e,
  underlayHop: 0x000f,
  batteryStatus: 0x0010,
} as const;

/** Registry names of the diagnostic Kinds, e.g. 0x0002 → "ROUTING_TABLE_SIZE". */
export const DIAGNOSTIC_KIND_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0x0001: 'STATUS_INFO',
  0x0002: 'ROUTING_TABLE_SIZE',
  0x0003: 'PROCESS_POWER',
  0x0004: 'UPSTREAM_BANDWIDTH',
  0x0005: 'DOWNSTREAM_BANDWIDTH',
  0x0006: 'SOFTWARE_VERSION',
  0x0007: 'MACHINE_UPTIME',
  0x0008: 'APP_UPTIME',
  0x0009: 'MEMORY_FOOTPRINT',
  0x000a: 'DATASIZE_STORED',
  0x000b: 'INSTANCES_STORED',
  0x000c: 'MESSAGES_SENT_RCVD',
  0x000d: 'EWMA_BYTES_SENT',
  0x000e: 'EWMA_BYTES_RCVD',
  0x000f: 'UNDERLAY_HOP',
  0x0010: 'BATTERY_STATUS',
});

/** Name of a diagnostic Kind, or "unknown_0x…". */
export function diagnosticKindName(kind: number): string {
  return DIAGNOSTIC_KIND_NAMES[kind] ?? `unknown_0x${kind.toString(16).padStart(4, '0')}`;
}

/** The diagnostic Kind named `name` (case-insensitive, "-" or "_"), if any. */
export function diagnosticKindByName(name: string): number | undefined {
  const n = name.toUpperCase().replace(/-/g, '_');
  for (const [k, v] of Object.entries(DIAGNOSTIC_KIND_NAMES)) if (v === n) return Number(k);
  return undefined;
}

/** dMFlags asking for everything (RFC 7851 §9.5: all bits set). */
export const DM_FLAGS_ALL = 0xffffffffffffffffn;
/** Highest Kind-ID with a dMFlags bit: bit 0 and bit 63 are reserved (RFC 7851 §9.5). */
export const DM_FLAGS_MAX_KIND = 62;

/** The dMFlags bit of a diagnostic Kind 1..62: `1 << kind` (RFC 7851 §9.5). */
export function dmFlag(kind: number): bigint {
  if (!Number.isInteger(kind) || kind < 1 || kind > DM_FLAGS_MAX_KIND) {
    throw new RangeError(`diagnostic Kind ${kind} has no dMFlags bit (1..${DM_FLAGS_MAX_KIND})`);
  }
  return 1n << BigInt(kind);
}

/** dMFlags requesting the given Kinds. */
export function dmFlagsOf(kinds: Iterable<number>): bigint {
  let f = 0n;
  for (const k of kinds) f |= dmFlag(k);
  return f;
}

/** The Kinds a dMFlags value requests (ascending); all-ones requests every Kind 1..62. */
export function kindsOfDmFlags(flags: bigint): number[] {
  const out: number[] = [];
  for (let k = 1; k <= DM_FLAGS_MAX_KIND; k++) if ((flags >> BigInt(k)) & 1n) out.push(k);
  return out;
}

export interface DiagnosticExtension {
  /** DiagnosticKindId, 16 bits (0xf000-0xfffe: local use). */
  kind: number;
  contents: Uint8Array;
}

export interface DiagnosticsRequest {
  /** Milliseconds since the epoch after which the request is void (RFC 7851 §5.1). */
  expiration: bigint;
  /** Milliseconds since the epoch when the initiator sent it. */
  timestampInitiated: bigint;
  /** Bitmap of the base diagnostic Kinds requested (bit k = Kind k). */
  dmFlags: bigint;
  /** Further Kinds requested by extension (Kinds 0x0000-0x003f must use dMFlags instead). */
  extensions: DiagnosticExtension[];
}

/** One piece of diagnostic information (RFC 7851 §5.3, contents per Kind §6). */
export type DiagnosticInfo =
  /** Low 4 bits: congestion, 0x0 idle .. 0xf congested; the upper bits are reserved. */
  | { type: 'status_info'; status: number }
  /** Peers in the routing table. */
  | { type: 'routing_table_size'; peers: number }
  | { type: 'process_power'; mips: bigint }
  | { type: 'upstream_bandwidth'; kbps: bigint }
  | { type: 'downstream_bandwidth'; kbps: bigint }
  /** US-ASCII; NUL-terminated on the wire. */
  | { type: 'software_version'; version: string }
  | { type: 'machine_uptime'; seconds: bigint }
  | { type: 'app_uptime'; seconds: bigint }
  | { type: 'memory_footprint'; kib: bigint }
  | { type: 'datasize_stored'; bytes: bigint }
  | { type: 'instances_stored'; instances: { kind: number; instances: bigint }[] }
  | { type: 'messages_sent_rcvd'; messages: { code: number; sent: bigint; received: bigint }[] }
  /** Exponentially weighted average of bytes sent per second. */
  | { type: 'ewma_bytes_sent'; bytesPerSecond: number }
  | { type: 'ewma_bytes_rcvd'; bytesPerSecond: number }
  | { type: 'underlay_hop'; hops: number }
  /** Leftmost bit 0: running on battery; the other 7 bits are application defined. */
  | { type: 'battery_status'; status: number }
  /** A Kind this codec does not know (local-use Kinds, future Kinds): kept opaque. */
  | { type: 'unknown'; kind: number; contents: Uint8Array };

export interface DiagnosticsResponse {
  expiration: bigint;
  /** Copied from the request. */
  timestampInitiated: bigint;
  /** When the responder received the request. */
  timestampReceived: bigint;
  /** The TTL of the forwarding header of the request as received (RFC 7851 §5.2). */
  hopCounter: number;
  info: DiagnosticInfo[];
}

export interface PathTrackReq {
  /** Where the path goes: a Node-ID or Resource-ID. */
  destination: Destination;
  request: DiagnosticsRequest;
}

export interface PathTrackAns {
  /** The responder's next hop toward the destination; its own Node-ID when responsible. */
  nextHop: Destination;
  response: DiagnosticsResponse;
}

// ---------------------------------------------------------------------------------------
// DiagnosticExtension and the list

const SE = 'DiagnosticExtension';
export const diagnosticExtension: Codec<DiagnosticExtension> = {
  name: SE,
  size(e) {
    checkFits(4, e.contents.length, SE, 'diagnostic_extension_contents');
    return 2 + 4 + e.contents.length;
  },
  encode(w, e) {
    checkU16(e.kind, SE, 'kind');
    w.u16(e.kind);
    w.opaque(4, e.contents);
  },
  decode(r) {
    return { kind: r.u16(SE, 'kind'), contents: r.opaque(4, SE, 'diagnostic_extension_contents') };
  },
};

const extensionList = vectorOf('DiagnosticsRequest.diagnostic_extensions_list', 4, diagnosticExtension);

/** ext_length followed, when non-zero, by the vector (see the decision at the top). */
function listWithExtLength<T>(structure: string, list: Codec<T[]>): Codec<T[]> {
  return {
    name: list.name,
    size: (v) => 4 + (v.length === 0 ? 0 : list.size(v)),
    encode(w, v) {
      if (v.length === 0) {
        w.u32(0);
        return;
      }
      const n = list.size(v);
      checkFits(4, n, structure, 'ext_length');
      w.u32(n);
      list.encode(w, v);
    },
    decode(r) {
      const at = r.pos;
      const extLength = r.u32(structure, 'ext_length');
      if (extLength === 0) return [];
      if (extLength < 4) {
        throw new DecodeError(structure, 'ext_length', 'length', at, `ext_length ${extLength} cannot hold the list's 4-byte length`);
      }
      const sub = r.sub(extLength, structure, 'ext_length');
      const v = list.decode(sub);
      if (sub.left !== 0) {
        throw new DecodeError(structure, 'ext_length', 'length', at, `ext_length ${extLength} is not 4 + the list's length ${extLength - 4 - sub.left}`);
      }
      return v;
    },
  };
}

const requestExtensions = listWithExtLength('DiagnosticsRequest', extensionList);

const SQ = 'DiagnosticsRequest';
export const diagnosticsRequest: Codec<DiagnosticsRequest> = {
  name: SQ,
  size: (q) => 24 + requestExtensions.size(q.extensions),
  encode(w, q) {
    w.u64(checkU64(q.expiration, SQ, 'expiration'));
    w.u64(checkU64(q.timestampInitiated, SQ, 'timestamp_initiated'));
    w.u64(checkU64(q.dmFlags, SQ, 'dMFlags'));
    requestExtensions.encode(w, q.extensions);
  },
  decode(r) {
    return {
      expiration: r.u64(SQ, 'expiration'),
      timestampInitiated: r.u64(SQ, 'timestamp_initiated'),
      dmFlags: r.u64(SQ, 'dMFlags'),
      extensions: requestExtensions.decode(r),
    };
  },
};

// ---------------------------------------------------------------------------------------
// DiagnosticInfo

const SI = 'DiagnosticInfo';

/** Contents size per Kind; undefined for variable-size ones. */
const FIXED: Record<string, number> = {
  status_info: 1,
  routing_table_size: 4,
  process_power: 8,
  upstream_bandwidth: 8,
  downstream_bandwidth: 8,
  machine_uptime: 8,
  app_uptime: 8,
  memory_footprint: 8,
  datasize_stored: 8,
  ewma_bytes_sent: 4,
  ewma_bytes_rcvd: 4,
  underlay_hop: 1,
  battery_status: 1,
};

const KIND_OF_TYPE: Record<Exclude<DiagnosticInfo['type'], 'unknown'>, number> = {
  status_info: DiagnosticKind.statusInfo,
  routing_table_size: DiagnosticKind.routingTableSize,
  process_power: DiagnosticKind.processPower,
  upstream_bandwidth: DiagnosticKind.upstreamBandwidth,
  downstream_bandwidth: DiagnosticKind.downstreamBandwidth,
  software_version: DiagnosticKind.softwareVersion,
  machine_uptime: DiagnosticKind.machineUptime,
  app_uptime: DiagnosticKind.appUptime,
  memory_footprint: DiagnosticKind.memoryFootprint,
  datasize_stored: DiagnosticKind.datasizeStored,
  instances_stored: DiagnosticKind.instancesStored,
  messages_sent_rcvd: DiagnosticKind.messagesSentRcvd,
  ewma_bytes_sent: DiagnosticKind.ewmaBytesSent,
  ewma_bytes_rcvd: DiagnosticKind.ewmaBytesRcvd,
  underlay_hop: DiagnosticKind.underlayHop,
  battery_status: DiagnosticKind.batteryStatus,
};

/** The diagnostic Kind-ID of a DiagnosticInfo. */
export function diagnosticInfoKind(i: DiagnosticInfo): number {
  return i.type === 'unknown' ? i.kind : KIND_OF_TYPE[i.type];
}

const INSTANCES_ENTRY_SIZE = 12;
const MESSAGES_ENTRY_SIZE = 18;

function contentsSize(i: DiagnosticInfo): number {
  switch (i.type) {
    case 'software_version':
      return i.version.length + 1;
    case 'instances_stored':
      return INSTANCES_ENTRY_SIZE * i.instances.length;
    case 'messages_sent_rcvd':
      return MESSAGES_ENTRY_SIZE * i.messages.length;
    case 'unknown':
      return i.contents.length;
    default:
      return FIXED[i.type]!;
  }
}

export const diagnosticInfo: Codec<DiagnosticInfo> = {
  name: SI,
  size(i) {
    const n = contentsSize(i);
    checkFits(2, n, SI, 'diagnostic_info_contents');
    return 4 + n;
  },
  encode(w, i) {
    const kind = diagnosticInfoKind(i);
    checkU16(kind, SI, 'kind');
    w.u16(kind);
    w.u16(contentsSize(i));
    switch (i.type) {
      case 'status_info':
        checkUint(i.status, 0xff, SI, 'status_info');
        w.u8(i.status);
        return;
      case 'routing_table_size':
        checkUint(i.peers, 0xffffffff, SI, 'routing_table_size');
        w.u32(i.peers);
        return;
      case 'process_power':
        w.u64(checkU64(i.mips, SI, 'process_power'));
        return;
      case 'upstream_bandwidth':
      case 'downstream_bandwidth':
        w.u64(checkU64(i.kbps, SI, i.type));
        return;
      case 'software_version':
        if (!/^[\x01-\x7f]*$/.test(i.version)) throw new EncodeError(SI, 'software_version', 'must be US-ASCII without NUL');
        for (let c = 0; c < i.version.length; c++) w.u8(i.version.charCodeAt(c));
        w.u8(0);
        return;
      case 'machine_uptime':
      case 'app_uptime':
        w.u64(checkU64(i.seconds, SI, i.type));
        return;
      case 'memory_footprint':
        w.u64(checkU64(i.kib, SI, 'memory_footprint'));
        return;
      case 'datasize_stored':
        w.u64(checkU64(i.bytes, SI, 'datasize_stored'));
        return;
      case 'instances_stored':
        for (const e of i.instances) {
          checkUint(e.kind, 0xffffffff, SI, 'instances_stored.kind');
          w.u32(e.kind);
          w.u64(checkU64(e.instances, SI, 'instances_stored.instances'));
        }
        return;
      case 'messages_sent_rcvd':
        for (const m of i.messages) {
          checkU16(m.code, SI, 'messages_sent_rcvd.message_code');
          w.u16(m.code);
          w.u64(checkU64(m.sent, SI, 'messages_sent_rcvd.sent'));
          w.u64(checkU64(m.received, SI, 'messages_sent_rcvd.rcvd'));
        }
        return;
      case 'ewma_bytes_sent':
      case 'ewma_bytes_rcvd':
        checkUint(i.bytesPerSecond, 0xffffffff, SI, i.type);
        w.u32(i.bytesPerSecond);
        return;
      case 'underlay_hop':
        checkUint(i.hops, 0xff, SI, 'underlay_hop');
        w.u8(i.hops);
        return;
      case 'battery_status':
        checkUint(i.status, 0xff, SI, 'battery_status');
        w.u8(i.status);
        return;
      case 'unknown':
        w.bytes(i.contents);
        return;
    }
  },
  decode(r) {
    const kind = r.u16(SI, 'kind');
    const at = r.pos;
    const c = r.vector(2, SI, 'diagnostic_info_contents');
    const fixed = (type: string, n: number): void => {
      if (c.left !== n) throw new DecodeError(SI, type, 'length', at, `${diagnosticKindName(kind)} takes ${n} byte(s), got ${c.left}`);
    };
    switch (kind) {
      case DiagnosticKind.statusInfo:
        fixed('status_info', 1);
        return { type: 'status_info', status: c.u8(SI, 'status_info') };
      case DiagnosticKind.routingTableSize:
        fixed('routing_table_size', 4);
        return { type: 'routing_table_size', peers: c.u32(SI, 'routing_table_size') };
      case DiagnosticKind.processPower:
        fixed('process_power', 8);
        return { type: 'process_power', mips: c.u64(SI, 'process_power') };
      case DiagnosticKind.upstreamBandwidth:
        fixed('upstream_bandwidth', 8);
        return { type: 'upstream_bandwidth', kbps: c.u64(SI, 'upstream_bandwidth') };
      case DiagnosticKind.downstreamBandwidth:
        fixed('downstream_bandwidth', 8);
        return { type: 'downstream_bandwidth', kbps: c.u64(SI, 'downstream_bandwidth') };
      case DiagnosticKind.softwareVersion:
        return { type: 'software_version', version: decodeAsciiz(c, at) };
      case DiagnosticKind.machineUptime:
        fixed('machine_uptime', 8);
        return { type: 'machine_uptime', seconds: c.u64(SI, 'machine_uptime') };
      case DiagnosticKind.appUptime:
        fixed('app_uptime', 8);
        return { type: 'app_uptime', seconds: c.u64(SI, 'app_uptime') };
      case DiagnosticKind.memoryFootprint:
        fixed('memory_footprint', 8);
        return { type: 'memory_footprint', kib: c.u64(SI, 'memory_footprint') };
      case DiagnosticKind.datasizeStored:
        fixed('datasize_stored', 8);
        return { type: 'datasize_stored', bytes: c.u64(SI, 'datasize_stored') };
      case DiagnosticKind.instancesStored: {
        entries(c, INSTANCES_ENTRY_SIZE, 'instances_stored', at);
        const instances: { kind: number; instances: bigint }[] = [];
        while (c.left > 0) instances.push({ kind: c.u32(SI, 'instances_stored.kind'), instances: c.u64(SI, 'instances_stored.instances') });
        return { type: 'instances_stored', instances };
      }
      case DiagnosticKind.messagesSentRcvd: {
        entries(c, MESSAGES_ENTRY_SIZE, 'messages_sent_rcvd', at);
        const messages: { code: number; sent: bigint; received: bigint }[] = [];
        while (c.left > 0) {
          messages.push({
            code: c.u16(SI, 'messages_sent_rcvd.message_code'),
            sent: c.u64(SI, 'messages_sent_rcvd.sent'),
            received: c.u64(SI, 'messages_sent_rcvd.rcvd'),
          });
        }
        return { type: 'messages_sent_rcvd', messages };
      }
      case DiagnosticKind.ewmaBytesSent:
        fixed('ewma_bytes_sent', 4);
        return { type: 'ewma_bytes_sent', bytesPerSecond: c.u32(SI, 'ewma_bytes_sent') };
      case DiagnosticKind.ewmaBytesRcvd:
        fixed('ewma_bytes_rcvd', 4);
        return { type: 'ewma_bytes_rcvd', bytesPerSecond: c.u32(SI, 'ewma_bytes_rcvd') };
      case DiagnosticKind.underlayHop:
        fixed('underlay_hop', 1);
        return { type: 'underlay_hop', hops: c.u8(SI, 'underlay_hop') };
      case DiagnosticKind.batteryStatus:
        fixed('battery_status', 1);
        return { type: 'battery_status', status: c.u8(SI, 'battery_status') };
      default:
        return { type: 'unknown', kind, contents: c.bytes(c.left, SI, 'diagnostic_info_contents') };
    }
  },
};

function entries(c: Reader, size: number, field: string, at: number): void {
  if (c.left % size !== 0) throw new DecodeError(SI, field, 'length', at, `${c.left} byte(s) is not a whole number of ${size}-byte entries`);
}

/** US-ASCII text ending in one NUL (RFC 7851 §6.6). */
function decodeAsciiz(c: Reader, at: number): string {
  const b = c.bytes(c.left, SI, 'software_version');
  if (b.length === 0 || b[b.length - 1] !== 0) throw new DecodeError(SI, 'software_version', 'value', at, 'not NUL-terminated');
  let s = '';
  for (let i = 0; i < b.length - 1; i++) {
    const ch = b[i]!;
    if (ch === 0 || ch > 0x7f) throw new DecodeError(SI, 'software_version', 'value', at + 2 + i, `byte 0x${ch.toString(16)} is not US-ASCII text`);
    s += String.fromCharCode(ch);
  }
  return s;
}

const infoList = vectorOf('DiagnosticsResponse.diagnostic_info_list', 4, diagnosticInfo);
const responseInfo = listWithExtLength('DiagnosticsResponse', infoList);

const SR = 'DiagnosticsResponse';
export const diagnosticsResponse: Codec<DiagnosticsResponse> = {
  name: SR,
  size: (p) => 25 + responseInfo.size(p.info),
  encode(w, p) {
    w.u64(checkU64(p.expiration, SR, 'expiration'));
    w.u64(checkU64(p.timestampInitiated, SR, 'timestamp_initiated'));
    w.u64(checkU64(p.timestampReceived, SR, 'timestamp_received'));
    checkUint(p.hopCounter, 0xff, SR, 'hop_counter');
    w.u8(p.hopCounter);
    responseInfo.encode(w, p.info);
  },
  decode(r) {
    return {
      expiration: r.u64(SR, 'expiration'),
      timestampInitiated: r.u64(SR, 'timestamp_initiated'),
      timestampReceived: r.u64(SR, 'timestamp_received'),
      hopCounter: r.u8(SR, 'hop_counter'),
      info: responseInfo.decode(r),
    };
  },
};

// ---------------------------------------------------------------------------------------
// PathTrack (RFC 7851 §5.4, message codes 0x27 / 0x28)

export const pathTrackReq: Codec<PathTrackReq> = {
  name: 'PathTrackReq',
  size: (p) => destination.size(p.destination) + diagnosticsRequest.size(p.request),
  encode(w: Writer, p) {
    destination.encode(w, p.destination);
    diagnosticsRequest.encode(w, p.request);
  },
  decode(r: Reader) {
    return { destination: destination.decode(r), request: diagnosticsRequest.decode(r) };
  },
};

export const pathTrackAns: Codec<PathTrackAns> = {
  name: 'PathTrackAns',
  size: (p) => destination.size(p.nextHop) + diagnosticsResponse.size(p.response),
  encode(w: Writer, p) {
    destination.encode(w, p.nextHop);
    diagnosticsResponse.encode(w, p.response);
  },
  decode(r: Reader) {
    return { nextHop: destination.decode(r), response: diagnosticsResponse.decode(r) };
  },
};

// ---------------------------------------------------------------------------------------

function checkUint(v: number, max: number, structure: string, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(structure, field, `${v} is not an integer in 0..${max}`);
}

function checkU16(v: number, structure: string, field: string): void {
  checkUint(v, 0xffff, structure, field);
}

function checkU64(v: bigint, structure: string, field: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw new EncodeError(structure, field, `${String(v)} is not a uint64`);
  return v;
}
