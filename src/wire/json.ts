/**
 * A decoded RELOAD message as plain JSON, for people (the `reload-node decode` command):
 * every field of the forwarding header (RFC 6940 §6.3.2), the message contents (§6.3.3)
 * with the typed body, the extensions, the security block (§6.3.4), and the framing
 * (§6.6.2) when the message came in a frame.
 *
 * Conventions: byte strings are lower-case hex; 64-bit integers are decimal strings; a
 * numeric code is followed by `<field>Name` with its registry name; opaque fields that
 * usually hold text (ufrag, role, error_info, ...) also get `<field>Text` when they are
 * printable UTF-8. Keys come in the decoders' field order (wire order; an optional field such
 * as an IceCandidate's rel_addr_port comes last), so the output is stable. Stored values of
 * known Kinds are decoded too (SIP-REGISTRATION, TURN-SERVICE, the certificate Kinds).
 *
 * Body decoding errors propagate as DecodeError (the input is malformed); a stored value
 * whose usage-level payload does not parse is shown with `valueDecodeError` instead.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { parseCertificate } from '../../certs/identity.js';
import { decodeSipRegistration, type SipRegistration } from '../../usages/sip/registration.js';
import { ipAddressPort } from './attach.js';
import { decodeAnyBody, isKnownBody } from './body.js';
import { chordCodecs } from './chord.js';
import { Reader, bytesEqual, decode, toHex } from './codec.js';
import {
  ErrorCode,
  FRAGMENT_LAST_BIT,
  FRAGMENT_OFFSET_MASK,
  MessageCode,
  MessageExtensionType,
  RELO_TOKEN,
  errorCodeName,
  messageCodeName,
} from './constants.js';
import type { WireContext } from './context.js';
import { type Destination, destinationListSize } from './destination.js';
import { diagnosticsRequest, diagnosticsResponse } from './diagnostics.js';
import { unknownKinds } from './error.js';
import type { ForwardingOption } from './forwarding-header.js';
import type { DecodedMessage, MessageExtension } from './message.js';
import type { GenericCertificate, SecurityBlock, Signature, SignerIdentity } from './security-block.js';
import { storageCodecs } from './storage.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The hop-by-hop frame the message arrived in, when there was one. */
export interface FramingInfo {
  /** How the input was framed: one UDP datagram, or a TLS/TCP stream. */
  transport: 'udp' | 'tcp';
  sequence: number;
  /** The frame's 3-byte message length. */
  length: number;
}

// ---------------------------------------------------------------------------------------
// Registry names (RFC 6940 §14, the TLS registries, RFC 7904, RFC 8076, RFC 7374).

const KIND_NAMES: Record<number, string> = {
  0x0: 'INVALID',
  0x1: 'SIP-REGISTRATION',
  0x2: 'TURN-SERVICE',
  0x3: 'CERTIFICATE_BY_NODE',
  0x4: 'ACCESS-CONTROL-LIST',
  0x10: 'CERTIFICATE_BY_USER',
  0x68: 'REDIR',
  0x7fffffff: 'RESERVED',
  0xfffffffe: 'RESERVED',
};

/** Registry name of a Kind-ID (private-use Kinds are named by their range). */
export function kindName(kind: number): string {
  const n = KIND_NAMES[kind];
  if (n) return n;
  if (kind >= 0xf0000001 && kind <= 0xfffffffe) return 'private-use';
  return 'unknown';
}

const HASH_NAMES = ['none', 'md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
const SIGNATURE_NAMES = ['anonymous', 'rsa', 'dsa', 'ecdsa'];
const CAND_TYPE_NAMES: Record<number, string> = { 1: 'host', 2: 'srflx', 3: 'reserved', 4: 'relay' };
const OVERLAY_LINK_NAMES: Record<number, string> = {
  1: 'DTLS-UDP-SR',
  3: 'DTLS-UDP-SR-NO-ICE',
  4: 'TLS-TCP-FH-NO-ICE',
  5: 'EXP-LINK',
};
const CERTIFICATE_TYPE_NAMES: Record<number, string> = { 0: 'X.509', 1: 'OpenPGP' };
const FORWARDING_OPTION_NAMES: Record<number, string> = { 1: 'exp-forward', 255: 'reserved' };
const FORWARDING_FLAG_NAMES: [number, string][] = [
  [0x01, 'FORWARD_CRITICAL'],
  [0x02, 'DESTINATION_CRITICAL'],
  [0x04, 'RESPONSE_COPY'],
];
const EXTENSION_NAMES: Record<number, string> = { 1: 'exp-ext', 2: 'diagnostic_ping', 3: 'self_tuning_data', 0xffff: 'reserved' };
const PROBE_INFO_NAMES: Record<number, string> = { 1: 'responsible_set', 2: 'num_resources', 3: 'uptime', 4: 'exp-probe' };
const APPLICATION_NAMES: Record<number, string> = { 5060: 'SIP', 5061: 'SIPS' };

export const hashAlgorithmName = (c: number): string => HASH_NAMES[c] ?? 'unknown';
export const signatureAlgorithmName = (c: number): string => SIGNATURE_NAMES[c] ?? 'unknown';
export const candTypeName = (c: number): string => CAND_TYPE_NAMES[c] ?? 'unknown';
export const overlayLinkName = (c: number): string => OVERLAY_LINK_NAMES[c] ?? 'unknown';

/** `<field>Name` annotations added after these keys (wherever they occur in a body). */
const NAMERS: Record<string, (v: number) => string> = {
  kind: kindName,
  hashAlg: hashAlgorithmName,
  hashAlgorithm: hashAlgorithmName,
  sigAlg: signatureAlgorithmName,
  candType: candTypeName,
  overlayLink: overlayLinkName,
  errorCode: errorCodeName,
  application: (c) => APPLICATION_NAMES[c] ?? 'unknown',
};

/** Opaque fields that normally carry text: they also get `<field>Text`. */
const TEXT_FIELDS = new Set(['ufrag', 'password', 'role', 'foundation', 'padding']);

// ---------------------------------------------------------------------------------------

/** The JSON of a destination: its type and the hex of its id. */
export function destinationToJson(d: Destination): JsonObject {
  if (d.type === 'compressed') return { type: 'compressed', id: d.id.toString(16).padStart(4, '0') };
  return { type: d.type, id: toHex(d.id) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Printable UTF-8 text (tabs and line breaks allowed), or undefined. */
function printable(b: Uint8Array): string | undefined {
  if (b.length === 0) return undefined;
  let s: string;
  try {
    s = utf8.decode(b);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s) ? undefined : s;
}

function hex16(n: number, width = 4): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}

/** Summary of a DER certificate: subject, issuer, SAN, and the RELOAD identity in it. */
export function certificateSummary(der: Uint8Array): JsonObject {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (err) {
    return { error: `not a DER X.509 certificate: ${(err as Error).message}` };
  }
  const out: JsonObject = {
    // Node separates RDNs with newlines; RELOAD end-entity certificates have an empty subject.
    subject: (x509.subject ?? '').split('\n').filter(Boolean).join(', '),
    issuer: (x509.issuer ?? '').split('\n').filter(Boolean).join(', '),
    serialNumber: x509.serialNumber.toLowerCase(),
    notBefore: new Date(x509.validFrom).toISOString(),
    notAfter: new Date(x509.validTo).toISOString(),
    subjectAltName: x509.subjectAltName ?? null,
    sha256: createHash('sha256').update(der).digest('hex'),
  };
  try {
    const id = parseCertificate(der);
    out.userName = id.userName ?? null;
    out.nodeIds = id.nodeIds.map((n) => toHex(n));
    out.overlay = id.overlay ?? null;
  } catch (err) {
    out.reloadIdentityError = (err as Error).message;
  }
  return out;
}

function sipRegistrationToJson(r: SipRegistration): JsonObject {
  switch (r.type) {
    case 'uri':
      return { type: 1, typeName: 'sip_registration_uri', uri: r.uri };
    case 'route':
      return {
        type: 2,
        typeName: 'sip_registration_route',
        contactPrefs: r.contactPrefs,
        destinationList: r.destinations.map(destinationToJson),
      };
    case 'unknown':
      return { type: r.code, typeName: 'unknown', data: toHex(r.data) };
  }
}

/** Decodes the usage payload of a stored value of a known Kind; undefined for others. */
function storedValueToJson(kind: number, value: Uint8Array): Json | undefined {
  switch (kind) {
    case 0x1:
      return sipRegistrationToJson(decodeSipRegistration(value));
    case 0x2: {
      // TurnServer { uint8 iteration; IpAddressPort server_address; } (RFC 6940 §6.6 digest).
      const r = new Reader(value);
      const iteration = r.u8('TurnServer', 'iteration');
      const address = ipAddressPort.decode(r);
      r.done('TurnServer');
      return { iteration, serverAddress: convert(address, '') };
    }
    case 0x3:
    case 0x10:
      return { certificate: certificateSummary(value) };
    default:
      return undefined;
  }
}

/**
 * Converts a decoded body structure into JSON (Uint8Array → hex, bigint → decimal string),
 * keeping its key order and adding names after coded fields. `kind` is the Kind-ID of the
 * enclosing kind block, used to decode stored values.
 */
function convert(v: unknown, key: string, kind?: number): Json {
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === 'bigint') return v.toString();
  if (v === undefined) return null;
  if (v === null || typeof v !== 'object') return v as Json;
  if (Array.isArray(v)) {
    const out = v.map((e) => convert(e, key, kind));
    return out;
  }
  const o = v as Record<string, unknown>;
  const innerKind = typeof o.kind === 'number' ? o.kind : kind;
  const out: JsonObject = {};
  for (const [k, val] of Object.entries(o)) {
    if (val === undefined) continue;
    out[k] = convert(val, k, innerKind);
    const namer = NAMERS[k];
    if (namer && typeof val === 'number') out[`${k}Name`] = namer(val);
    if (TEXT_FIELDS.has(k) && val instanceof Uint8Array) {
      const t = printable(val);
      if (t !== undefined) out[`${k}Text`] = t;
    }
    if (k === 'kinds' && Array.isArray(val) && val.every((x) => typeof x === 'number')) {
      out.kindNames = (val as number[]).map(kindName);
    }
    if (k === 'requestedInfo' && Array.isArray(val)) {
      out.requestedInfoNames = (val as number[]).map((c) => PROBE_INFO_NAMES[c] ?? 'unknown');
    }
  }
  // IceExtension { name, value } of text.
  if (isIceExtension(o)) {
    const n = printable(o.name as Uint8Array);
    const t = printable(o.value as Uint8Array);
    if (n !== undefined) out.nameText = n;
    if (t !== undefined) out.valueText = t;
  }
  // A DataValue inside StoredData of a known Kind: decode the usage payload.
  if (innerKind !== undefined && typeof o.exists === 'boolean' && o.value instanceof Uint8Array && o.value.length > 0) {
    try {
      const decoded = storedValueToJson(innerKind, o.value);
      if (decoded !== undefined) out.valueDecoded = decoded;
    } catch (err) {
      out.valueDecodeError = (err as Error).message;
    }
  }
  return out;
}

function isIceExtension(o: Record<string, unknown>): boolean {
  const keys = Object.keys(o);
  return keys.length === 2 && o.name instanceof Uint8Array && o.value instanceof Uint8Array;
}

/** The error_info of an ErrorResponse: structured for two codes, otherwise text (§6.3.3.1). */
function errorInfoToJson(code: number, info: Uint8Array, ctx: WireContext): JsonObject {
  const out: JsonObject = { errorInfo: toHex(info) };
  if (code === ErrorCode.unknownKind) {
    const kinds = decode(unknownKinds, info);
    out.unknownKinds = kinds;
    out.unknownKindNames = kinds.map(kindName);
  } else if (code === ErrorCode.generationCounterTooLow) {
    out.storeAns = convert(decode(storageCodecs(ctx).storeAns, info), 'storeAns');
  } else {
    const t = printable(info);
    if (t !== undefined) out.errorInfoText = t;
  }
  return out;
}

/** The typed body of a message as JSON; throws DecodeError when the body is malformed. */
export function bodyToJson(code: number, body: Uint8Array, ctx: WireContext): Json {
  if (!isKnownBody(code)) return null;
  const decoded = decodeAnyBody(code, body, ctx) as Record<string, unknown>;
  switch (code) {
    case MessageCode.error: {
      const e = decoded as { errorCode: number; errorInfo: Uint8Array };
      return { errorCode: e.errorCode, errorCodeName: errorCodeName(e.errorCode), ...errorInfoToJson(e.errorCode, e.errorInfo, ctx) };
    }
    case MessageCode.leaveReq: {
      // CHORD-RELOAD puts ChordLeaveData inside overlay_specific_data (RFC 6940 §9.7.4).
      const out = convert(decoded, 'body') as JsonObject;
      const data = decoded.overlaySpecificData as Uint8Array;
      if (data.length > 0) out.chordLeaveData = convert(decode(chordCodecs(ctx.nodeIdLength).leaveData, data), 'chordLeaveData');
      return out;
    }
    case MessageCode.configUpdateReq: {
      const c = decoded as { type: 'config'; configData: Uint8Array } | { type: 'kind'; kinds: Uint8Array[] };
      if (c.type === 'config') return { type: 'config', configData: toHex(c.configData), configDataText: printable(c.configData) ?? null };
      return { type: 'kind', kinds: c.kinds.map((k) => ({ kindDescription: toHex(k), kindDescriptionText: printable(k) ?? null })) };
    }
    default:
      return convert(decoded, 'body');
  }
}

function optionToJson(o: ForwardingOption): JsonObject {
  return {
    type: o.type,
    typeName: FORWARDING_OPTION_NAMES[o.type] ?? 'unknown',
    flags: hex16(o.flags, 2),
    flagNames: FORWARDING_FLAG_NAMES.filter(([bit]) => (o.flags & bit) !== 0).map(([, n]) => n),
    length: o.value.length,
    value: toHex(o.value),
  };
}

function extensionToJson(e: MessageExtension, code: number): JsonObject {
  const out: JsonObject = {
    type: e.type,
    typeName: EXTENSION_NAMES[e.type] ?? 'unknown',
    critical: e.critical,
    length: e.contents.length,
    contents: toHex(e.contents),
  };
  // RFC 7851 §5.1: Diagnostic_Ping carries a DiagnosticsRequest in a PingReq and a
  // DiagnosticsResponse in a PingAns (and means nothing on other methods).
  if (e.type === MessageExtensionType.diagnosticPing && (code === MessageCode.pingReq || code === MessageCode.pingAns)) {
    try {
      const d = code === MessageCode.pingReq ? decode(diagnosticsRequest, e.contents) : decode(diagnosticsResponse, e.contents);
      out.diagnostics = convert(d, 'diagnostics');
    } catch (err) {
      out.diagnosticsDecodeError = (err as Error).message;
    }
  }
  return out;
}

function identityToJson(id: SignerIdentity): JsonObject {
  switch (id.type) {
    case 'cert_hash':
    case 'cert_hash_node_id':
      return {
        type: id.type,
        typeCode: id.type === 'cert_hash' ? 1 : 2,
        hashAlg: id.hashAlg,
        hashAlgName: hashAlgorithmName(id.hashAlg),
        hash: toHex(id.hash),
      };
    case 'none':
      return { type: 'none', typeCode: 3 };
    case 'unknown':
      return { type: 'unknown', typeCode: id.code, value: toHex(id.value) };
  }
}

function signatureToJson(s: Signature): JsonObject {
  return {
    algorithm: {
      hash: s.hashAlg,
      hashName: hashAlgorithmName(s.hashAlg),
      signature: s.sigAlg,
      signatureName: signatureAlgorithmName(s.sigAlg),
    },
    identity: identityToJson(s.identity),
    valueLength: s.value.length,
    value: toHex(s.value),
  };
}

const HASH_NODE = ['', '', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];

/**
 * Index of the certificate the SignerIdentity designates (RFC 6940 §6.3.4: H(DER) for
 * cert_hash, H(NodeId || DER) for cert_hash_node_id), or null. No trust check.
 */
function signerCertificateIndex(id: SignerIdentity, certs: readonly GenericCertificate[]): number | null {
  if (id.type !== 'cert_hash' && id.type !== 'cert_hash_node_id') return null;
  const alg = HASH_NODE[id.hashAlg];
  if (!alg) return null;
  for (let i = 0; i < certs.length; i++) {
    const der = certs[i]!.certificate;
    if (id.type === 'cert_hash') {
      if (bytesEqual(new Uint8Array(createHash(alg).update(der).digest()), id.hash)) return i;
      continue;
    }
    let nodeIds: readonly Uint8Array[];
    try {
      nodeIds = parseCertificate(der).nodeIds;
    } catch {
      continue;
    }
    for (const n of nodeIds) {
      if (bytesEqual(new Uint8Array(createHash(alg).update(n).update(der).digest()), id.hash)) return i;
    }
  }
  return null;
}

function securityBlockToJson(b: SecurityBlock): JsonObject {
  return {
    certificates: b.certificates.map((c) => ({
      type: c.type,
      typeName: CERTIFICATE_TYPE_NAMES[c.type] ?? 'unknown',
      length: c.certificate.length,
      summary: c.type === 0 ? certificateSummary(c.certificate) : null,
      certificate: toHex(c.certificate),
    })),
    signature: signatureToJson(b.signature),
    signerCertificate: signerCertificateIndex(b.signature.identity, b.certificates),
  };
}

/**
 * The whole decoded message as JSON. Throws DecodeError when the body of a known message
 * code is malformed (its offsets count from the start of message_body).
 */
export function messageToJson(m: DecodedMessage, ctx: WireContext, framing?: FramingInfo): JsonObject {
  const h = m.header;
  const out: JsonObject = {};
  if (framing) {
    out.framing = { transport: framing.transport, type: 'data', typeCode: 128, sequence: framing.sequence, length: framing.length };
  }
  let optionsLength = 0;
  for (const o of h.options) optionsLength += 4 + o.value.length;
  out.forwardingHeader = {
    reloToken: hex16(RELO_TOKEN, 8),
    overlay: hex16(h.overlay, 8),
    configurationSequence: h.configurationSequence,
    version: h.version,
    versionName: h.version === 0x0a ? '1.0' : 'unknown',
    ttl: h.ttl,
    fragment: hex16(h.fragment, 8),
    lastFragment: (h.fragment & FRAGMENT_LAST_BIT) !== 0,
    fragmentOffset: h.fragment & FRAGMENT_OFFSET_MASK,
    length: h.length,
    transactionId: h.transactionId.toString(),
    transactionIdHex: `0x${h.transactionId.toString(16).padStart(16, '0')}`,
    maxResponseLength: h.maxResponseLength,
    viaListLength: destinationListSize(h.viaList),
    destinationListLength: destinationListSize(h.destinationList),
    optionsLength,
    viaList: h.viaList.map(destinationToJson),
    destinationList: h.destinationList.map(destinationToJson),
    options: h.options.map(optionToJson),
  };
  const c = m.contents;
  out.messageContents = {
    messageCode: c.code,
    messageCodeHex: hex16(c.code),
    messageName: messageCodeName(c.code),
    bodyLength: c.body.length,
    body: bodyToJson(c.code, c.body, ctx),
    bodyHex: isKnownBody(c.code) ? null : toHex(c.body),
    extensions: c.extensions.map((e) => extensionToJson(e, c.code)),
  };
  out.securityBlock = securityBlockToJson(m.security);
  return out;
}
