/**
 * GRUUs in the overlay (RFC 7904 §6): a RELOAD GRUU is an AOR carrying, in its `gr` URI
 * parameter, the base64 of a destination list (RFC 4648 Table 1 alphabet, with `~` instead
 * of the padding `=` so the value is a valid URI parameter). A peer that must reach a GRUU
 * of its own overlay decodes the list and AppAttaches along it: no Fetch, no storage.
 *
 * Decision (RFC 7904 does not say): the base64 covers the bare concatenation of the
 * Destination structures, without an outer length (the natural reading of "a destination
 * list"). Compressed destinations (RFC 6940 §6.3.2.2) are refused both ways: they mean
 * something only on the link that issued them.
 */
import { DecodeError, Reader, Writer } from '../../src/wire/codec.js';
import { type Destination, decodeDestinationList, destinationListSize, encodeDestinationList } from '../../src/wire/destination.js';

/** The URI parameter holding the destination list (RFC 7904 §6). */
export const GRUU_PARAM = 'gr';

const S = 'GRUU';

/** The `gr` value of a destination list: base64 with `~` for `=`. */
export function encodeGruuParam(destinations: readonly Destination[]): string {
  if (destinations.length === 0) throw new RangeError('a GRUU needs at least one Destination');
  if (destinations.some((d) => d.type === 'compressed')) throw new RangeError('a GRUU cannot carry a compressed Destination');
  const w = new Writer(new Uint8Array(destinationListSize(destinations)));
  encodeDestinationList(w, destinations);
  return Buffer.from(w.buf).toString('base64').replace(/=/g, '~');
}

/**
 * The destination list of a `gr` value. Throws DecodeError (structure GRUU) when the value
 * is not base64 with `~` padding, or does not hold a non-empty list of node, resource or
 * opaque Destinations.
 */
export function decodeGruuParam(value: string): Destination[] {
  if (value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+~{0,2}$/.test(value)) {
    throw new DecodeError(S, 'gr', 'value', 0, 'not base64 (RFC 4648 alphabet, "~" for padding)');
  }
  const bytes = new Uint8Array(Buffer.from(value.replace(/~/g, '='), 'base64'));
  const list = decodeDestinationList(new Reader(bytes));
  if (list.length === 0) throw new DecodeError(S, 'gr', 'length', 0, 'empty destination list');
  if (list.some((d) => d.type === 'compressed')) throw new DecodeError(S, 'gr', 'value', 0, 'compressed Destination in a GRUU');
  return list;
}

/**
 * A GRUU for an AOR (RFC 7904 §6): `sip:<aor>;gr=<list>`. The AOR is given without scheme
 * (`alice@example.com`) or as a sip:/sips: URI without parameters.
 */
export function gruuUri(aor: string, destinations: readonly Destination[]): string {
  const bare = /^sips?:/i.test(aor) ? aor : `sip:${aor}`;
  if (bare.includes(';') || bare.includes('?')) throw new RangeError(`the AOR ${JSON.stringify(aor)} must have no parameters or headers`);
  return `${bare};${GRUU_PARAM}=${encodeGruuParam(destinations)}`;
}
