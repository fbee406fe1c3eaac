/**
 * The link layer (ARCHITECTURE.md: "A link only moves framed messages and reports peers
 * up/down"): the contract in ./types.ts and its transports.
 *
 * - {@link TlsTransport}: TLS over TCP with the framed header (RFC 6940 TLS-TCP-FH), mutual
 *   authentication with the overlay's certificates — the product's secure link.
 * - {@link UdpTransport}: UDP with Simple Reliability, no DTLS (Node has none) — the
 *   insecure datagram link.
 * - {@link TcpTransport}: TCP with the framed header, no TLS — lab captures only
 *   (`--insecure-link`).
 * - {@link MemoryTransport} on a {@link MemoryNetwork}: the simulator's and tests' link,
 *   virtual time, latency, loss, partitions and crashes.
 */
export * from './types.js';
export * from './constants.js';
export { RttEstimator, type RtoOptions } from './reliability.js';
export { type StreamLinkOptions, StreamConnection } from './stream.js';
export { TlsTransport, type TlsTransportOptions, derToPem } from './tls.js';
export { TcpTransport, type TcpTransportOptions } from './tcp.js';
export { UdpConnection, UdpTransport, type UdpTransportOptions, UdpTransportStats } from './udp.js';
export {
  MEMORY_HOST,
  MemoryConnection,
  MemoryNetwork,
  type MemoryNetworkOptions,
  MemoryNetworkStats,
  MemoryTransport,
  type MemoryTransportOptions,
} from './memory.js';
