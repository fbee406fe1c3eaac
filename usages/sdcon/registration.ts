/**
 * The DISCO-REGISTRATION Kind (draft-knauf-p2psip-disco §3; digest /work/shared/spec/disco.md
 * §3, §12): the ID/locator split of a conference URI. The conference URI is the Resource
 * Name (hashed like an AOR, RFC 7904 §3: `sip:` removed); each focus serving the conference
 * stores one dictionary entry keyed by its own Node-ID (RFC 8076 §3.1: the dictionary key of
 * a shared Kind is the signer's Node-ID), under USER-CHAIN-ACL (ShaRe).
 *
 * Value (what ShaRe's writeShared puts behind the ResourceNameExtension when the Kind enables
 * variable resource names, RFC 8076 §5.2):
 *
 *   struct {
 *     uint16                 length;          // bytes of data
 *     DisCoRegistrationData  data;
 *   } DisCoRegistration;
 *
 *   struct {
 *     opaque  coordinate<0..2^16-1>;          // the focus' relative network position
 *     NodeId  node_id;                        // the focus' Node-ID (overlay length, 16 default)
 *     // --- extension of this implementation, in the length-delimited tail ---
 *     Destination destination_list<0..2^16-1>; // how to reach the focus (RFC 7904 §3.2 style)
 *     opaque  sip_contact<0..2^16-1>;         // the focus' SIP contact for this conference (UTF-8)
 *     uint8   role;                           // 1 primary, 2 secondary
 *     uint32  term;                           // election term of the primary role
 *     uint16  capacity;                       // participants the focus takes
 *     uint16  participants;                   // participants it serves now
 *   } DisCoRegistrationData;
 *
 * Decisions on UNCONFIRMED points (disco.md §3.1, §3.3, §12):
 * - The `length` + coordinate + node_id head is the reference implementation's layout
 *   (disco.md §3.1 [I]); the resource name in front of it is the conforming ShaRe
 *   ResourceNameExtension (type, length, name) that ShaRe adds and strips, not the bare
 *   `opaque` of the reference implementation — a storing peer must be able to check it.
 * - The coordinate is the focus' landmark bin label as text (e.g. "2.0.1";
 *   topology/landmarks/binning.ts), empty when the peer has no landmark bin: the demo's
 *   "same coordinate = same bin" semantics (disco.md §3.3).
 * - Load, reachability and role ride in the length-delimited tail (disco.md §12.1 allows
 *   "a capacity/load field via the length-delimited tail"). A value without the tail (the
 *   reference implementation's form) decodes with `ext` undefined; bytes after the known
 *   tail fields are ignored, so later versions can append fields.
 * - Role: the draft names a primary focus (SDCON) but no wire field; a focus states its own
 *   role in its own entry, since under ShaRe each writer owns exactly its key. A new primary
 *   "rewrites the entry that says who is primary" by storing its own entry with role primary
 *   and a larger term; readers take the primary entry with the largest term (ties: smaller
 *   Node-ID), so a dead primary's stale entry loses as soon as the successor writes.
 */
import { type Codec, DecodeError, EncodeError, Reader, Writer, decode, encode, fromUtf8, opaqueSize, utf8 } from '../../src/wire/codec.js';
import { type Destination, decodeDestinationList, destinationListSize, encodeDestinationList } from '../../src/wire/destination.js';

/** Kind-ID of DISCO-REGISTRATION: no IANA value was ever assigned; private-use range (RFC 6940 §14.6). */
export const DISCO_REGISTRATION_KIND = 0xf0051003;
export const DISCO_REGISTRATION_NAME = 'DISCO-REGISTRATION';
/** The RFC 8076 §5.1 pattern conference URIs follow by default: `<label>-conf-<user>@<domain>`. */
export const DISCO_CONFERENCE_PATTERN = '.*-conf-$USER@$DOMAIN';

export const FocusRole = { primary: 1, secondary: 2 } as const;
export type FocusRoleName = keyof typeof FocusRole;

/** The tail fields this implementation adds. */
export interface DisCoRegistrationExt {
  destinations: Destination[];
  sipContact: string;
  role: FocusRoleName;
  term: number;
  capacity: number;
  participants: number;
}

export interface DisCoRegistration {
  /** Relative network position (landmark bin label); '' when unknown. */
  coordinate: string;
  nodeId: Uint8Array;
  /** Absent in the reference implementation's two-field form. */
  ext?: DisCoRegistrationExt;
}

const S = 'DisCoRegistration';

function dataSize(r: DisCoRegistration): number {
  let n = opaqueSize(2, utf8(r.coordinate), S, 'coordinate') + r.nodeId.length;
  if (r.ext) {
    const list = destinationListSize(r.ext.destinations);
    if (list > 0xffff) throw new EncodeError(S, 'destination_list', `${list} bytes exceed 65535`);
    n += 2 + list + opaqueSize(2, utf8(r.ext.sipContact), S, 'sip_contact') + 1 + 4 + 2 + 2;
  }
  return n;
}

function checkExt(r: DisCoRegistration): void {
  if (!r.ext) return;
  const { term, capacity, participants } = r.ext;
  if (!Number.isInteger(term) || term < 0 || term > 0xffffffff) throw new EncodeError(S, 'term', `${term} is not a uint32`);
  if (!Number.isInteger(capacity) || capacity < 0 || capacity > 0xffff) throw new EncodeError(S, 'capacity', `${capacity} is not a uint16`);
  if (!Number.isInteger(participants) || participants < 0 || participants > 0xffff) throw new EncodeError(S, 'participants', `${participants} is not a uint16`);
}

/**
 * The DisCoRegistration codec for an overlay's Node-ID length (RFC 6940 §11.1
 * node-id-length; NodeId is a fixed-length field).
 */
export function disCoRegistrationCodec(nodeIdLength = 16): Codec<DisCoRegistration> {
  return {
    name: S,
    size(r) {
      if (r.nodeId.length !== nodeIdLength) throw new EncodeError(S, 'node_id', `${r.nodeId.length} bytes, the overlay's Node-IDs have ${nodeIdLength}`);
      checkExt(r);
      const n = dataSize(r);
      if (n > 0xffff) throw new EncodeError(S, 'length', `data of ${n} bytes exceeds 65535`);
      return 2 + n;
    },
    encode(w: Writer, r) {
      w.u16(dataSize(r));
      w.opaque(2, utf8(r.coordinate));
      w.bytes(r.nodeId);
      if (r.ext) {
        w.u16(destinationListSize(r.ext.destinations));
        encodeDestinationList(w, r.ext.destinations);
        w.opaque(2, utf8(r.ext.sipContact));
        w.u8(FocusRole[r.ext.role]);
        w.u32(r.ext.term);
        w.u16(r.ext.capacity);
        w.u16(r.ext.participants);
      }
    },
    decode(outer: Reader) {
      const n = outer.u16(S, 'length');
      const r = outer.sub(n, S, 'data');
      const coordinate = fromUtf8(r.opaque(2, S, 'coordinate'), S, 'coordinate');
      const nodeId = new Uint8Array(r.bytes(nodeIdLength, S, 'node_id'));
      if (r.left === 0) return { coordinate, nodeId };
      const destinations = decodeDestinationList(r.vector(2, S, 'destination_list'));
      const sipContact = fromUtf8(r.opaque(2, S, 'sip_contact'), S, 'sip_contact');
      const roleCode = r.u8(S, 'role');
      const role = roleCode === FocusRole.primary ? 'primary' : roleCode === FocusRole.secondary ? 'secondary' : undefined;
      if (!role) throw new DecodeError(S, 'role', 'value', r.pos - 1, `unknown role ${roleCode}`);
      const term = r.u32(S, 'term');
      const capacity = r.u16(S, 'capacity');
      const participants = r.u16(S, 'participants');
      // Fields a newer version appends after these: skipped (the outer length delimits the value).
      return { coordinate, nodeId, ext: { destinations, sipContact, role, term, capacity, participants } };
    },
  };
}

const DEFAULT_CODEC = disCoRegistrationCodec(16);

/** Encodes a DisCoRegistration (its Node-ID length is taken from the value). */
export function encodeDisCoRegistration(r: DisCoRegistration): Uint8Array {
  return encode(r.nodeId.length === 16 ? DEFAULT_CODEC : disCoRegistrationCodec(r.nodeId.length), r);
}

/** Decodes a DisCoRegistration; `nodeIdLength` is the overlay's. Throws DecodeError (trailing bytes included). */
export function decodeDisCoRegistration(bytes: Uint8Array, nodeIdLength = 16): DisCoRegistration {
  return decode(nodeIdLength === 16 ? DEFAULT_CODEC : disCoRegistrationCodec(nodeIdLength), bytes);
}

/**
 * The Resource Name of a conference URI: like an AOR (RFC 7904 §3): the `sip:`/`sips:`
 * scheme, URI parameters and headers removed, `%`-escapes decoded.
 */
export function conferenceResourceName(uri: string): string {
  let s = uri.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1);
  s = s.replace(/^sips?:/i, '');
  s = s.split(/[;?]/, 1)[0]!;
  try {
    s = decodeURIComponent(s);
  } catch {
    /* leave malformed escapes as they are */
  }
  const at = s.lastIndexOf('@');
  return at < 0 ? s.toLowerCase() : `${s.slice(0, at)}@${s.slice(at + 1).toLowerCase()}`;
}
