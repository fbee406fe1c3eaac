/**
 * Classic libpcap files (https://www.tcpdump.org/manpages/pcap-savefile.5.html) holding
 * IPv4 UDP datagrams or one TCP connection, 127.0.0.1 → 127.0.0.1, so that tshark can
 * decode what our codec emits. IPv4 header checksums and all lengths are exact; UDP and TCP
 * checksums are computed too (RFC 768 / RFC 9293 pseudo-header).
 */

/** LINKTYPE_ETHERNET (DLT_EN10MB) and LINKTYPE_RAW (raw IPv4/IPv6, no link header). */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;

/** The port Wireshark's reload-framing dissector is registered on (RFC 6940 §14.2). */
export const RELOAD_PORT = 6084;

export interface PcapOptions {
  /** Link type of the capture (default Ethernet). */
  linkType?: typeof LINKTYPE_ETHERNET | typeof LINKTYPE_RAW;
  /** Timestamp of the first packet, ms since the epoch (default 2026-01-01T00:00:00Z). */
  startMs?: number;
  /** Source port (default 49152). */
  srcPort?: number;
  /** Destination port (default 6084). */
  dstPort?: number;
}

const LOCALHOST = [127, 0, 0, 1] as const;
const MAX_IPV4_PAYLOAD = 0xffff - 20;

/** One's-complement sum of 16-bit words (RFC 1071), folded, not yet inverted. */
function sum16(bytes: Uint8Array, initial = 0): number {
  let s = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2) s += bytes[bytes.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The Internet checksum of `bytes` (RFC 1071). */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return ~sum16(bytes, initial) & 0xffff;
}

function pseudoHeaderSum(protocol: number, length: number): number {
  const p = new Uint8Array(12);
  p.set(LOCALHOST, 0);
  p.set(LOCALHOST, 4);
  p[9] = protocol;
  p[10] = length >>> 8;
  p[11] = length & 0xff;
  return sum16(p);
}

/** An IPv4 packet 127.0.0.1 → 127.0.0.1 around `payload` (a UDP or TCP segment). */
export function ipv4Packet(protocol: number, payload: Uint8Array, id: number): Uint8Array {
  if (payload.length > MAX_IPV4_PAYLOAD) throw new RangeError(`IPv4 payload of ${payload.length} bytes is too large`);
  const p = new Uint8Array(20 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45; // version 4, IHL 5
  v.setUint16(2, p.length);
  v.setUint16(4, id & 0xffff);
  v.setUint16(6, 0x4000); // don't fragment
  p[8] = 64; // TTL
  p[9] = protocol;
  p.set(LOCALHOST, 12);
  p.set(LOCALHOST, 16);
  v.setUint16(10, internetChecksum(p.subarray(0, 20)));
  p.set(payload, 20);
  return p;
}

/** A UDP datagram with its checksum. */
export function udpDatagram(srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  const v = new DataView(u.buffer);
  v.setUint16(0, srcPort);
  v.setUint16(2, dstPort);
  v.setUint16(4, u.length);
  u.set(payload, 8);
  const c = internetChecksum(u, pseudoHeaderSum(17, u.length));
  v.setUint16(6, c === 0 ? 0xffff : c); // RFC 768: a computed 0 is sent as all ones
  return u;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** A TCP segment (20-byte header, no options) with its checksum. */
export function tcpSegment(srcPort: number, dstPort: number, seq: number, ack: number, flags: number, payload: Uint8Array): Uint8Array {
  const t = new Uint8Array(20 + payload.length);
  const v = new DataView(t.buffer);
  v.setUint16(0, srcPort);
  v.setUint16(2, dstPort);
  v.setUint32(4, seq >>> 0);
  v.setUint32(8, ack >>> 0);
  t[12] = 5 << 4;
  t[13] = flags;
  v.setUint16(14, 65535);
  t.set(payload, 20);
  v.setUint16(16, internetChecksum(t, pseudoHeaderSum(6, t.length)));
  return t;
}

function ethernetFrame(ip: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + ip.length);
  // Locally administered MACs 02:00:00:00:00:01 → 02:00:00:00:00:02; EtherType IPv4.
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00], 0);
  f.set(ip, 14);
  return f;
}

/** A pcap file from IPv4 packets, one record each, 1 ms apart. */
export function pcapFile(ipPackets: Uint8Array[], opts: PcapOptions = {}): Uint8Array {
  const linkType = opts.linkType ?? LINKTYPE_ETHERNET;
  const records = ipPackets.map((p) => (linkType === LINKTYPE_ETHERNET ? ethernetFrame(p) : p));
  let total = 24;
  for (const r of records) total += 16 + r.length;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  // Global header, little-endian: magic, version 2.4, thiszone, sigfigs, snaplen, network.
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true);
  v.setUint32(12, 0, true);
  v.setUint32(16, 262_144, true);
  v.setUint32(20, linkType, true);
  let o = 24;
  const start = opts.startMs ?? Date.UTC(2026, 0, 1);
  records.forEach((r, i) => {
    const ms = start + i;
    v.setUint32(o, Math.floor(ms / 1000), true);
    v.setUint32(o + 4, (ms % 1000) * 1000, true);
    v.setUint32(o + 8, r.length, true);
    v.setUint32(o + 12, r.length, true);
    out.set(r, o + 16);
    o += 16 + r.length;
  });
  return out;
}

/** A capture of UDP datagrams 127.0.0.1:srcPort → 127.0.0.1:6084, one payload per packet. */
export function udpPcap(payloads: Uint8Array[], opts: PcapOptions = {}): Uint8Array {
  const src = opts.srcPort ?? 49_152;
  const dst = opts.dstPort ?? RELOAD_PORT;
  return pcapFile(
    payloads.map((p, i) => ipv4Packet(17, udpDatagram(src, dst, p), i + 1)),
    opts,
  );
}

/**
 * A capture of one TCP connection to 127.0.0.1:6084: handshake, then `chunks` as
 * consecutive client segments (each acknowledged by the server), then FIN from the client.
 * Splitting a frame across chunks exercises the receiver's stream reassembly.
 */
export function tcpPcap(chunks: Uint8Array[], opts: PcapOptions = {}): Uint8Array {
  const c = opts.srcPort ?? 49_152;
  const s = opts.dstPort ?? RELOAD_PORT;
  const empty = new Uint8Array(0);
  let cseq = 1000;
  const sseq = 5000;
  let id = 1;
  const packets: Uint8Array[] = [];
  const fromClient = (flags: number, payload: Uint8Array, ack: number) =>
    packets.push(ipv4Packet(6, tcpSegment(c, s, cseq, ack, flags, payload), id++));
  const fromServer = (flags: number, seq: number, ack: number) =>
    packets.push(ipv4Packet(6, tcpSegment(s, c, seq, ack, flags, empty), id++));
  fromClient(TCP_SYN, empty, 0);
  cseq += 1;
  fromServer(TCP_SYN | TCP_ACK, sseq, cseq);
  fromClient(TCP_ACK, empty, sseq + 1);
  for (const chunk of chunks) {
    fromClient(TCP_PSH | TCP_ACK, chunk, sseq + 1);
    cseq += chunk.length;
    fromServer(TCP_ACK, sseq + 1, cseq);
  }
  fromClient(TCP_FIN | TCP_ACK, empty, sseq + 1);
  return pcapFile(packets, opts);
}
