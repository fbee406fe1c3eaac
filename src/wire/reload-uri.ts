/**
 * The RELOAD URI (RFC 6940 §14.15): reload://destination@overlay/[specifier], where
 * destination is the hex of a Destination List. Certificates carry each Node-ID as such
 * a URI with a single `node` Destination.
 */
import { DecodeError, Reader, Writer, fromHex, toHex } from './codec.js';
import { type Destination, decodeDestinationList, destinationListSize, encodeDestinationList } from './destination.js';

export interface ReloadUri {
  destinations: Destination[];
  overlay: string;
  /** Hex of a StoredDataSpecifier, when the URI names a data item. */
  specifier?: Uint8Array;
}

export function formatReloadUri(u: ReloadUri): string {
  const w = new Writer(new Uint8Array(destinationListSize(u.destinations)));
  encodeDestinationList(w, u.destinations);
  return `reload://${toHex(w.buf)}@${u.overlay}/${u.specifier ? toHex(u.specifier) : ''}`;
}

/** The URI a certificate uses for a Node-ID. */
export function nodeIdUri(nodeId: Uint8Array, overlay: string): string {
  return formatReloadUri({ destinations: [{ type: 'node', id: nodeId }], overlay });
}

const S = 'ReloadUri';
const RELOAD_URI = /^reload:\/\/([0-9a-f]+)@((?:[a-z0-9\-._~!$&'()*+,;=]|%[0-9a-f]{2})+)\/([0-9a-f]*)$/i;

export function parseReloadUri(text: string): ReloadUri {
  // RFC 6940 §14.15 ABNF: "reload://" destination "@" overlay "/" [specifier], overlay being
  // an RFC 3986 reg-name (unreserved / pct-encoded / sub-delims); the scheme is
  // case-insensitive (RFC 3986 §3.1).
  const m = RELOAD_URI.exec(text);
  if (!m) throw new DecodeError(S, 'uri', 'value', 0, `not a RELOAD URI: ${JSON.stringify(text.slice(0, 80))}`);
  let bytes: Uint8Array;
  try {
    bytes = fromHex(m[1]!);
  } catch {
    throw new DecodeError(S, 'destination', 'value', 9, 'odd number of hex digits');
  }
  const destinations = decodeDestinationList(new Reader(bytes));
  if (destinations.length === 0) throw new DecodeError(S, 'destination', 'value', 9, 'empty destination list');
  const out: ReloadUri = { destinations, overlay: m[2]!.toLowerCase() };
  if (m[3]) {
    if (m[3].length % 2) throw new DecodeError(S, 'specifier', 'value', 0, 'odd number of hex digits');
    out.specifier = fromHex(m[3]);
  }
  return out;
}
