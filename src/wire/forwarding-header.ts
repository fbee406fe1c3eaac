/**
 * ForwardingHeader and ForwardingOption (RFC 6940 §6.3.2). The header is the only part
 * an intermediate peer reads; the three list lengths are grouped ahead of the lists and
 * are byte counts. `length` covers the whole (fragment of the) message.
 */
import { type Codec, DecodeError, EncodeError, Reader, Writer } from './codec.js';
import {
  FORWARDING_HEADER_FIXED_SIZE,
  FRAGMENT_HISTORICAL_BIT,
  RELO_TOKEN,
  RELOAD_VERSION,
} from './constants.js';
import {
  type Destination,
  decodeDestinationList,
  destinationListSize,
  encodeDestinationList,
} from './destination.js';

export interface ForwardingOption {
  /** ForwardingOptionType, 1 byte; unknown types are carried opaquely. */
  type: number;
  /** FORWARD_CRITICAL 0x01, DESTINATION_CRITICAL 0x02, RESPONSE_COPY 0x04. */
  flags: number;
  value: Uint8Array;
}

export interface ForwardingHeader {
  /** Low 32 bits of SHA-1(overlay name). */
  overlay: number;
  configurationSequence: number;
  /** 0x0a for RELOAD 1.0. */
  version: number;
  ttl: number;
  /** Top bit always set; 0x40000000 = last fragment; low 24 bits = offset. */
  fragment: number;
  /** Size of this message (fragment) in bytes, header included. */
  length: number;
  transactionId: bigint;
  maxResponseLength: number;
  viaList: Destination[];
  destinationList: Destination[];
  options: ForwardingOption[];
}

const S = 'ForwardingHeader';
const SO = 'ForwardingOption';

export const forwardingOption: Codec<ForwardingOption> = {
  name: SO,
  size(o) {
    return 4 + o.value.length;
  },
  encode(w, o) {
    if (o.value.length > 0xffff) throw new EncodeError(SO, 'length', 'option value exceeds 65535 bytes');
    w.u8(o.type);
    w.u8(o.flags);
    w.opaque(2, o.value);
  },
  decode(r) {
    const at = r.pos;
    const type = r.u8(SO, 'type');
    if (type === 0) throw new DecodeError(SO, 'type', 'value', at, 'invalidForwardingOptionType (0)');
    const flags = r.u8(SO, 'flags');
    const value = r.opaque(2, SO, 'value');
    return { type, flags, value };
  },
};

function optionsSize(options: readonly ForwardingOption[]): number {
  let n = 0;
  for (const o of options) n += forwardingOption.size(o);
  return n;
}

/** Size of the encoded header alone. */
export function forwardingHeaderSize(h: ForwardingHeader): number {
  return (
    FORWARDING_HEADER_FIXED_SIZE +
    destinationListSize(h.viaList) +
    destinationListSize(h.destinationList) +
    optionsSize(h.options)
  );
}

export const forwardingHeader: Codec<ForwardingHeader> = {
  name: S,
  size: forwardingHeaderSize,
  encode(w: Writer, h) {
    const via = destinationListSize(h.viaList);
    const dest = destinationListSize(h.destinationList);
    const opts = optionsSize(h.options);
    if (via > 0xffff || dest > 0xffff || opts > 0xffff) {
      throw new EncodeError(S, 'lists', 'a via, destination or option list exceeds 65535 bytes');
    }
    checkResourcePlacement(h.viaList, h.destinationList, (field, detail) => new EncodeError(S, field, detail));
    w.u32(RELO_TOKEN);
    w.u32(h.overlay);
    w.u16(h.configurationSequence);
    w.u8(h.version);
    w.u8(h.ttl);
    w.u32(h.fragment);
    w.u32(h.length);
    w.u64(h.transactionId);
    w.u32(h.maxResponseLength);
    w.u16(via);
    w.u16(dest);
    w.u16(opts);
    encodeDestinationList(w, h.viaList);
    encodeDestinationList(w, h.destinationList);
    for (const o of h.options) forwardingOption.encode(w, o);
  },
  decode(r: Reader): ForwardingHeader {
    const start = r.pos;
    const token = r.u32(S, 'relo_token');
    if (token !== RELO_TOKEN) {
      throw new DecodeError(S, 'relo_token', 'value', start, `expected 0xd2454c4f, got 0x${token.toString(16)}`);
    }
    const overlay = r.u32(S, 'overlay');
    const configurationSequence = r.u16(S, 'configuration_sequence');
    const version = r.u8(S, 'version');
    const ttl = r.u8(S, 'ttl');
    const fragment = r.u32(S, 'fragment');
    if ((fragment & FRAGMENT_HISTORICAL_BIT) === 0) {
      // RFC 6940 §6.3.2: the top bit MUST be 1; receivers SHOULD drop messages without it.
      throw new DecodeError(S, 'fragment', 'value', start + 12, 'historical top bit is not set');
    }
    const lengthAt = r.pos;
    const length = r.u32(S, 'length');
    const transactionId = r.u64(S, 'transaction_id');
    const maxResponseLength = r.u32(S, 'max_response_length');
    const viaLen = r.u16(S, 'via_list_length');
    const destLen = r.u16(S, 'destination_list_length');
    const optLen = r.u16(S, 'options_length');
    if (length < FORWARDING_HEADER_FIXED_SIZE + viaLen + destLen + optLen) {
      throw new DecodeError(S, 'length', 'length', lengthAt, `message length ${length} is shorter than its header`);
    }
    const viaAt = r.pos;
    const viaList = decodeDestinationList(r.sub(viaLen, S, 'via_list'));
    const destinationList = decodeDestinationList(r.sub(destLen, S, 'destination_list'));
    checkResourcePlacement(viaList, destinationList, (field, detail) =>
      new DecodeError(S, field, 'value', field === 'via_list' ? viaAt : viaAt + viaLen, detail),
    );
    const optReader = r.sub(optLen, S, 'options');
    const options: ForwardingOption[] = [];
    while (optReader.left > 0) options.push(forwardingOption.decode(optReader));
    return {
      overlay,
      configurationSequence,
      version,
      ttl,
      fragment,
      length,
      transactionId,
      maxResponseLength,
      viaList,
      destinationList,
      options,
    };
  },
};

/**
 * RFC 6940 §6.3.2.2: a `resource` entry may appear only as the last entry of a Destination
 * List and never in a Via List.
 */
function checkResourcePlacement(
  via: readonly Destination[],
  dest: readonly Destination[],
  fail: (field: string, detail: string) => Error,
): void {
  for (const d of via) {
    if (d.type === 'resource') throw fail('via_list', 'a resource destination may not appear in a Via List');
  }
  for (let i = 0; i < dest.length - 1; i++) {
    if (dest[i]!.type === 'resource') {
      throw fail('destination_list', 'a resource destination may only be the last entry of a Destination List');
    }
  }
}

/** Version check done by every receiver (RFC 6940 §6.3.2: other versions are rejected). */
export function isSupportedVersion(h: ForwardingHeader): boolean {
  return h.version === RELOAD_VERSION;
}
