/**
 * The SIP-REGISTRATION value (RFC 7904 §3.2) and the AOR → Resource Name rule (RFC 7904
 * §3, §3.3).
 *
 *   struct {
 *     SipRegistrationType type;     // uint8: 1 sip_registration_uri, 2 sip_registration_route
 *     uint16              length;   // bytes of data
 *     select (type) {
 *       case sip_registration_uri:   opaque uri<0..2^16-1>;
 *       case sip_registration_route: opaque contact_prefs<0..2^16-1>;
 *                                    Destination destination_list<3..2^16-1>;
 *       // "This type can be extended": other types are carried opaquely by `length`.
 *     } data;
 *   } SipRegistration;
 *
 * Stored as the value of a dictionary entry of Kind 0x1, keyed by the storer's Node-ID.
 */
import {
  type Codec,
  DecodeError,
  EncodeError,
  Reader,
  Writer,
  decode,
  encode,
  fromUtf8,
  opaqueSize,
  utf8,
} from '../../src/wire/codec.js';
import {
  type Destination,
  decodeDestinationList,
  destinationListSize,
  encodeDestinationList,
} from '../../src/wire/destination.js';
import { resourceIdOf } from '../../src/wire/ids.js';

/** SipRegistrationType (RFC 7904 §3.2). */
export const SipRegistrationType = { uri: 1, route: 2 } as const;

/** Kind-ID of SIP-REGISTRATION (RFC 7904 §9.1). */
export const SIP_REGISTRATION_KIND = 0x1;

export type SipRegistration =
  /** "To contact me, dereference this AOR" (call forwarding). */
  | { type: 'uri'; uri: string }
  /** "To contact me, connect to this peer": RFC 3840 contact predicate + route to the peer. */
  | { type: 'route'; contactPrefs: string; destinations: Destination[] }
  /** A type this node does not know; its data is kept so it re-encodes unchanged. */
  | { type: 'unknown'; code: number; data: Uint8Array };

const S = 'SipRegistration';

function dataSize(r: SipRegistration): number {
  switch (r.type) {
    case 'uri':
      return opaqueSize(2, utf8(r.uri), S, 'uri');
    case 'route': {
      const prefs = opaqueSize(2, utf8(r.contactPrefs), S, 'contact_prefs');
      if (r.destinations.length === 0) {
        // destination_list<3..2^16-1>: never empty.
        throw new EncodeError(S, 'destination_list', 'a route needs at least one Destination');
      }
      const list = destinationListSize(r.destinations);
      if (list > 0xffff) throw new EncodeError(S, 'destination_list', `${list} bytes exceed 65535`);
      return prefs + 2 + list;
    }
    case 'unknown':
      return r.data.length;
  }
}

export const sipRegistration: Codec<SipRegistration> = {
  name: S,
  size(r) {
    const n = dataSize(r);
    if (n > 0xffff) throw new EncodeError(S, 'length', `data of ${n} bytes exceeds 65535`);
    return 3 + n;
  },
  encode(w: Writer, r) {
    const n = dataSize(r);
    switch (r.type) {
      case 'uri':
        w.u8(SipRegistrationType.uri);
        w.u16(n);
        w.opaque(2, utf8(r.uri));
        return;
      case 'route':
        w.u8(SipRegistrationType.route);
        w.u16(n);
        w.opaque(2, utf8(r.contactPrefs));
        w.u16(destinationListSize(r.destinations));
        encodeDestinationList(w, r.destinations);
        return;
      case 'unknown':
        if (r.code === SipRegistrationType.uri || r.code === SipRegistrationType.route || r.code > 0xff) {
          throw new EncodeError(S, 'type', `type ${r.code} cannot be carried as unknown`);
        }
        w.u8(r.code);
        w.u16(n);
        w.bytes(r.data);
        return;
    }
  },
  decode(r: Reader): SipRegistration {
    const code = r.u8(S, 'type');
    const body = r.sub(r.u16(S, 'length'), S, 'data');
    let out: SipRegistration;
    switch (code) {
      case SipRegistrationType.uri: {
        const at = body.pos;
        out = { type: 'uri', uri: text(body.opaque(2, S, 'uri'), 'uri', at) };
        break;
      }
      case SipRegistrationType.route: {
        const prefsAt = body.pos;
        const contactPrefs = text(body.opaque(2, S, 'contact_prefs'), 'contact_prefs', prefsAt);
        const listAt = body.pos;
        const list = body.vector(2, S, 'destination_list');
        if (list.left < 3) {
          throw new DecodeError(S, 'destination_list', 'length', listAt, `length ${list.left} is below the minimum of 3`);
        }
        out = { type: 'route', contactPrefs, destinations: decodeDestinationList(list) };
        break;
      }
      default:
        // RFC 7904 §3.2: "This type can be extended"; the length lets us skip it.
        return { type: 'unknown', code, data: body.bytes(body.left, S, 'data') };
    }
    body.done(S);
    return out;
  },
};

function text(bytes: Uint8Array, field: string, at: number): string {
  try {
    return fromUtf8(bytes, S, field);
  } catch {
    throw new DecodeError(S, field, 'value', at, 'invalid UTF-8');
  }
}

/** The DataValue.value bytes of a SIP-REGISTRATION entry. */
export function encodeSipRegistration(r: SipRegistration): Uint8Array {
  return encode(sipRegistration, r);
}

/** Decodes a whole DataValue.value as one SipRegistration (trailing bytes are an error). */
export function decodeSipRegistration(bytes: Uint8Array): SipRegistration {
  return decode(sipRegistration, bytes);
}

/**
 * The Resource Name of an AOR (RFC 7904 §2, §3.3): the AOR without its "sip:"/"sips:"
 * scheme (case-insensitive), with %-escapes decoded (RFC 3986 §2.1; the decoded octets
 * must be UTF-8). "sip:b%6Fb@example.org" → "bob@example.org". A bad escape is a
 * DecodeError naming AOR.percent_encoding.
 */
export function aorResourceName(aor: string): string {
  const m = /^sips?:/i.exec(aor);
  const rest = m ? aor.slice(m[0].length) : aor;
  if (!rest.includes('%')) return rest;
  const raw = utf8(rest);
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== 0x25) {
      out[n++] = c;
      continue;
    }
    const hi = hexDigit(raw[i + 1]);
    const lo = hexDigit(raw[i + 2]);
    if (hi < 0 || lo < 0) {
      throw new DecodeError('AOR', 'percent_encoding', 'value', i, `"%" is not followed by two hex digits in ${JSON.stringify(aor)}`);
    }
    out[n++] = (hi << 4) | lo;
    i += 2;
  }
  return fromUtf8(out.subarray(0, n), 'AOR', 'percent_encoding');
}

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** The Resource-ID of an AOR in a CHORD-RELOAD overlay (RFC 7904 §3 + RFC 6940 §9.2). */
export function aorResourceId(aor: string, length = 16): Uint8Array {
  return resourceIdOf(aorResourceName(aor), length);
}
