/**
 * The status page's data (GET /api/status): what a peer knows about itself, as plain JSON.
 * Who it is, its place on the ring (successors, predecessors, fingers), its links with
 * their RTT estimates, what it stores per Kind, its message counters per message code, its
 * RFC 7851 rates, and the sections its usages contribute (UsagePlugin.status), among them
 * the conferences it serves as a focus.
 */
import type { ReloadNode } from '../node/node.js';
import type { ConferenceStatus, UsageStatus } from '../node/usage.js';
import { toHex } from '../wire/codec.js';
import { messageCodeName } from '../wire/constants.js';

export interface RingStatus {
  /** Bits in a Node-ID (the page places ids on the circle by their leading bits). */
  bits: number;
  self: string;
  successors: string[];
  predecessors: string[];
  fingers: string[];
}

export interface LinkStatus {
  /** The neighbour's Node-ID, null while unknown. */
  nodeId: string | null;
  transport: string;
  local: string;
  remote: string;
  outbound: boolean;
  /** Smoothed RTT (RFC 6298), ms; null before the first sample. */
  srttMs: number | null;
  rtoMs: number;
  /** ms since the last message arrived on the link. */
  idleMs: number;
  /** What the neighbour is to this peer: successor, predecessor, finger (or nothing). */
  roles: string[];
  bytesSent: number | null;
  bytesReceived: number | null;
  retransmissions: number | null;
}

export interface KindStatus {
  kind: number;
  kindHex: string;
  name: string | null;
  dataModel: string | null;
  resources: number;
  values: number;
  bytes: number;
}

export interface MessageCodeStatus {
  code: number;
  codeHex: string;
  name: string;
  sent: number;
  received: number;
}

export interface UsageSection {
  usage: string;
  title: string;
  fields: Record<string, unknown>;
}

export interface StatusSnapshot {
  node: {
    nodeId: string;
    overlay: string;
    role: 'peer' | 'client';
    userName: string | null;
    uptimeS: number;
    /** Server time, ISO 8601. */
    now: string;
    addresses: string[];
  };
  ring: RingStatus;
  links: LinkStatus[];
  storage: { resources: number; bytes: number; kinds: KindStatus[] };
  messages: {
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
    pendingTransactions: number;
    byCode: MessageCodeStatus[];
  };
  diagnostics: { ewmaBytesSent: number; ewmaBytesRcvd: number; congestion: number; routingTableSize: number };
  /** Conferences this peer serves as a focus, from every usage that reports some. */
  conferences: (ConferenceStatus & { usage: string })[];
  /** Other usage-provided sections. */
  sections: UsageSection[];
}

/** Extra sections besides the usages' (name → producer), e.g. from the program embedding the node. */
export type ExtraSections = Record<string, () => UsageStatus | Promise<UsageStatus>>;

function codeName(code: number): string {
  return code === 0xffff ? 'error' : messageCodeName(code);
}

/** Builds the snapshot. Usage hooks that throw show their error instead of failing the page. */
export async function statusSnapshot(node: ReloadNode, extra: ExtraSections = {}): Promise<StatusSnapshot> {
  const now = node.clock.monotonic();
  const snap = node.isPeer && node.topology ? node.topology.snapshot() : { successors: [], predecessors: [], fingers: [] };
  const ring: RingStatus = {
    bits: node.params.nodeIdLength * 8,
    self: toHex(node.nodeId),
    successors: snap.successors.map(toHex),
    predecessors: snap.predecessors.map(toHex),
    fingers: snap.fingers.map(toHex),
  };
  const rolesOf = (id: string): string[] => {
    const r: string[] = [];
    if (ring.successors.includes(id)) r.push('successor');
    if (ring.predecessors.includes(id)) r.push('predecessor');
    if (ring.fingers.includes(id)) r.push('finger');
    return r;
  };
  const links: LinkStatus[] = node.router.table.entries().map((e) => {
    const c = e.connection;
    const id = e.nodeId ? toHex(e.nodeId) : null;
    return {
      nodeId: id,
      transport: c.transport,
      local: `${c.local.host}:${c.local.port}`,
      remote: `${c.remote.host}:${c.remote.port}`,
      outbound: c.outbound,
      srttMs: c.srttMs === undefined ? null : Math.round(c.srttMs * 100) / 100,
      rtoMs: Math.round(c.rtoMs),
      idleMs: Math.max(0, Math.round(now - e.lastSeen)),
      roles: id ? rolesOf(id) : [],
      bytesSent: c.stats?.bytesSent ?? null,
      bytesReceived: c.stats?.bytesReceived ?? null,
      retransmissions: c.stats?.retransmissions ?? null,
    };
  });
  links.sort((a, b) => (a.nodeId ?? '~').localeCompare(b.nodeId ?? '~'));
  const kinds: KindStatus[] = node.storage.statsByKind().map((k) => {
    const def = node.kinds.get(k.kind);
    return {
      kind: k.kind,
      kindHex: `0x${k.kind.toString(16)}`,
      name: def?.name ?? null,
      dataModel: def?.dataModel ?? null,
      resources: k.resources,
      values: k.values,
      bytes: k.bytes,
    };
  });
  const st = node.router.stats;
  const byCode: MessageCodeStatus[] = [...st.byCode.entries()]
    .sort(([a], [b]) => a - b)
    .map(([code, [sent, received]]) => ({ code, codeHex: `0x${code.toString(16).padStart(4, '0')}`, name: codeName(code), sent, received }));
  const rates = node.diagnostics.rates();

  const conferences: (ConferenceStatus & { usage: string })[] = [];
  const sections: UsageSection[] = [];
  const producers: [string, () => UsageStatus | Promise<UsageStatus>][] = [
    ...node.usages.filter((u) => typeof u.status === 'function').map((u) => [u.name, () => u.status!()] as [string, () => UsageStatus | Promise<UsageStatus>]),
    ...Object.entries(extra),
  ];
  for (const [name, produce] of producers) {
    let s: UsageStatus;
    try {
      s = (await produce()) ?? {};
    } catch (err) {
      sections.push({ usage: name, title: name, fields: { error: (err as Error).message } });
      continue;
    }
    const { title, conferences: confs, ...fields } = s;
    if (Array.isArray(confs)) for (const c of confs) conferences.push({ ...c, usage: name });
    if (Object.keys(fields).length > 0) sections.push({ usage: name, title: typeof title === 'string' ? title : name, fields: jsonSafe(fields) as Record<string, unknown> });
  }

  return {
    node: {
      nodeId: toHex(node.nodeId),
      overlay: node.params.overlayName,
      role: node.isPeer ? 'peer' : 'client',
      userName: node.signer.credentials.certificate.userName ?? null,
      uptimeS: node.uptimeSeconds(),
      now: new Date(node.clock.now()).toISOString(),
      addresses: node.addresses.map((a) => `${a.kind}:${a.address.host}:${a.address.port}`),
    },
    ring,
    links,
    storage: { resources: node.storage.numResources(), bytes: node.storage.storedBytes(), kinds },
    messages: {
      received: st.received,
      forwarded: st.forwarded,
      delivered: st.delivered,
      originated: st.originated,
      dropped: st.dropped,
      decodeErrors: st.decodeErrors,
      signatureFailures: st.signatureFailures,
      errorsSent: st.errorsSent,
      bytesIn: st.bytesIn,
      bytesOut: st.bytesOut,
      pendingTransactions: node.router.pendingTransactions,
      byCode,
    },
    diagnostics: { ...rates, routingTableSize: node.diagnostics.routingTableSize() },
    conferences: jsonSafe(conferences) as (ConferenceStatus & { usage: string })[],
    sections,
  };
}

/** Usage-provided values made JSON-safe: bytes → hex, bigint → string, no cycles or functions. */
function jsonSafe(v: unknown, depth = 0, seen = new Set<unknown>()): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'function' || typeof v === 'symbol' || v === undefined) return null;
  if (v === null || typeof v !== 'object') return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
  if (v instanceof Date) return v.toISOString();
  if (depth > 8 || seen.has(v)) return '…';
  seen.add(v);
  const out = Array.isArray(v) ? v.map((x) => jsonSafe(x, depth + 1, seen)) : Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonSafe(x, depth + 1, seen)]));
  seen.delete(v);
  return out;
}
