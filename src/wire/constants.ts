/**
 * Protocol numbers of RFC 6940, one table per family (RFC 6940 §14 IANA registries),
 * plus the code points of the extensions this node speaks (RFC 7851 diagnostics,
 * RFC 7363 self-tuning, RFC 8076 ShaRe, RFC 7904 SIP).
 */

/** relo_token: "RELO" with the top bit of the first byte set (RFC 6940 §6.3.2). */
export const RELO_TOKEN = 0xd2454c4f;
/** version field: protocol version × 10; RELOAD 1.0 (RFC 6940 §6.3.2). */
export const RELOAD_VERSION = 0x0a;
/** Fixed part of the forwarding header in bytes (RFC 6940 §6.3.2). */
export const FORWARDING_HEADER_FIXED_SIZE = 38;
/** fragment field bits (RFC 6940 §6.3.2). */
export const FRAGMENT_HISTORICAL_BIT = 0x80000000;
export const FRAGMENT_LAST_BIT = 0x40000000;
export const FRAGMENT_OFFSET_MASK = 0x00ffffff;
/** An unfragmented message's fragment field. */
export const FRAGMENT_UNFRAGMENTED = 0xc0000000;

/** Default NodeIdLength (RFC 6940 §11.1, node-id-length default 16). */
export const DEFAULT_NODE_ID_LENGTH = 16;
/** Default initial TTL (RFC 6940 §6.3.2). */
export const DEFAULT_INITIAL_TTL = 100;
/** Default max-message-size in bytes (RFC 6940 §11.1). */
export const DEFAULT_MAX_MESSAGE_SIZE = 5000;

/** DestinationType (RFC 6940 §6.3.2.2). 128-255 are never assigned: the short form. */
export const DestinationType = {
  invalid: 0,
  node: 1,
  resource: 2,
  opaqueId: 3,
} as const;

/** ForwardingOption flags (RFC 6940 §6.3.2.3). */
export const ForwardingFlag = {
  forwardCritical: 0x01,
  destinationCritical: 0x02,
  responseCopy: 0x04,
} as const;

/** Message codes (RFC 6940 §14.8; PathTrack from RFC 7851 §9.2). */
export const MessageCode = {
  invalid: 0x0000,
  probeReq: 0x0001,
  probeAns: 0x0002,
  attachReq: 0x0003,
  attachAns: 0x0004,
  storeReq: 0x0007,
  storeAns: 0x0008,
  fetchReq: 0x0009,
  fetchAns: 0x000a,
  findReq: 0x000d,
  findAns: 0x000e,
  joinReq: 0x000f,
  joinAns: 0x0010,
  leaveReq: 0x0011,
  leaveAns: 0x0012,
  updateReq: 0x0013,
  updateAns: 0x0014,
  routeQueryReq: 0x0015,
  routeQueryAns: 0x0016,
  pingReq: 0x0017,
  pingAns: 0x0018,
  statReq: 0x0019,
  statAns: 0x001a,
  appAttachReq: 0x001d,
  appAttachAns: 0x001e,
  configUpdateReq: 0x0021,
  configUpdateAns: 0x0022,
  expAReq: 0x0023,
  expAAns: 0x0024,
  expBReq: 0x0025,
  expBAns: 0x0026,
  /** RFC 7851 §9.2 (Wireshark knows the draft codes 101/102 instead). */
  pathTrackReq: 0x0027,
  pathTrackAns: 0x0028,
  error: 0xffff,
} as const;
export type MessageCodeValue = (typeof MessageCode)[keyof typeof MessageCode];

const MESSAGE_CODE_NAMES = new Map<number, string>(
  Object.entries(MessageCode).map(([k, v]) => [v, k]),
);

/** RFC 6940 name of a message code, e.g. "store_req"; "unknown_0x1234" otherwise. */
export function messageCodeName(code: number): string {
  const n = MESSAGE_CODE_NAMES.get(code);
  if (n === undefined) return `unknown_0x${code.toString(16).padStart(4, '0')}`;
  return n.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Requests are odd, answers are request + 1 (RFC 6940 §6.3.3.1). */
export function isRequestCode(code: number): boolean {
  return code !== MessageCode.error && (code & 1) === 1;
}

/**
 * Error codes (RFC 6940 §14.9; 0x15..0x1A from RFC 7851 §9.3). Wireshark names the RFC 7851
 * errors 101..106 (pre-RFC draft numbers); we send the IANA values.
 */
export const ErrorCode = {
  invalid: 0x00,
  forbidden: 0x02,
  notFound: 0x03,
  requestTimeout: 0x04,
  generationCounterTooLow: 0x05,
  incompatibleWithOverlay: 0x06,
  unsupportedForwardingOption: 0x07,
  dataTooLarge: 0x08,
  dataTooOld: 0x09,
  ttlExceeded: 0x0a,
  messageTooLarge: 0x0b,
  unknownKind: 0x0c,
  unknownExtension: 0x0d,
  responseTooLarge: 0x0e,
  configTooOld: 0x0f,
  configTooNew: 0x10,
  inProgress: 0x11,
  expA: 0x12,
  expB: 0x13,
  invalidMessage: 0x14,
  underlayDestinationUnreachable: 0x15,
  underlayTimeExceeded: 0x16,
  messageExpired: 0x17,
  upstreamMisrouting: 0x18,
  loopDetected: 0x19,
  ttlHopsExceeded: 0x1a,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const ERROR_NAMES: Record<number, string> = {
  0x02: 'Error_Forbidden',
  0x03: 'Error_Not_Found',
  0x04: 'Error_Request_Timeout',
  0x05: 'Error_Generation_Counter_Too_Low',
  0x06: 'Error_Incompatible_with_Overlay',
  0x07: 'Error_Unsupported_Forwarding_Option',
  0x08: 'Error_Data_Too_Large',
  0x09: 'Error_Data_Too_Old',
  0x0a: 'Error_TTL_Exceeded',
  0x0b: 'Error_Message_Too_Large',
  0x0c: 'Error_Unknown_Kind',
  0x0d: 'Error_Unknown_Extension',
  0x0e: 'Error_Response_Too_Large',
  0x0f: 'Error_Config_Too_Old',
  0x10: 'Error_Config_Too_New',
  0x11: 'Error_In_Progress',
  0x12: 'Error_Exp_A',
  0x13: 'Error_Exp_B',
  0x14: 'Error_Invalid_Message',
  0x15: 'Error_Underlay_Destination_Unreachable',
  0x16: 'Error_Underlay_Time_Exceeded',
  0x17: 'Error_Message_Expired',
  0x18: 'Error_Upstream_Misrouting',
  0x19: 'Error_Loop_Detected',
  0x1a: 'Error_TTL_Hops_Exceeded',
};

export function errorCodeName(code: number): string {
  return ERROR_NAMES[code] ?? `Error_Unknown_0x${code.toString(16)}`;
}

/**
 * Message extension types (RFC 6940 §14.14; RFC 7851 §9; RFC 7363 §9). 16 bits on the wire.
 * Decision on a point the sources disagree on: Wireshark's dissector decodes 2 as
 * self-tuning data and 3 as diagnostic ping (values from the drafts); we follow the IANA
 * assignments as the spec digest records them (Diagnostic_Ping 0x2, self_tuning_data 0x3).
 * Wireshark then shows our diagnostic extension under the wrong name but decodes the
 * message around it.
 */
export const MessageExtensionType = {
  invalid: 0,
  expExt: 1,
  diagnosticPing: 2,
  selfTuningData: 3,
} as const;

/** CertificateType (RFC 6091 registry). */
export const CertificateType = { x509: 0, openpgp: 1 } as const;

/** TLS HashAlgorithm registry (RFC 5246 §7.4.1.4.1). */
export const HashAlgorithm = {
  none: 0,
  md5: 1,
  sha1: 2,
  sha224: 3,
  sha256: 4,
  sha384: 5,
  sha512: 6,
} as const;

/** TLS SignatureAlgorithm registry. */
export const SignatureAlgorithm = { anonymous: 0, rsa: 1, dsa: 2, ecdsa: 3 } as const;

/** SignerIdentityType (RFC 6940 §6.3.4). */
export const SignerIdentityType = {
  invalid: 0,
  certHash: 1,
  certHashNodeId: 2,
  none: 3,
} as const;

/** AddressType (RFC 6940 §6.5.1.1). */
export const AddressType = { invalid: 0, ipv4: 1, ipv6: 2 } as const;

/** OverlayLinkType (RFC 6940 §14.10). */
export const OverlayLinkType = {
  invalid: 0,
  dtlsUdpSr: 1,
  dtlsUdpSrNoIce: 3,
  tlsTcpFhNoIce: 4,
  expLink: 5,
} as const;

/** CandType (RFC 6940 §6.5.1.1). 3 is reserved. */
export const CandType = { invalid: 0, host: 1, srflx: 2, relay: 4 } as const;

/** ProbeInformationType (RFC 6940 §14.11). */
export const ProbeInformationType = {
  invalid: 0,
  responsibleSet: 1,
  numResources: 2,
  uptime: 3,
  expProbe: 4,
} as const;

/** ConfigUpdateType (RFC 6940 §6.5.4). */
export const ConfigUpdateType = { invalid: 0, config: 1, kind: 2 } as const;

/** ChordUpdateType (RFC 6940 §9.7.1). */
export const ChordUpdateType = { invalid: 0, peerReady: 1, neighbors: 2, full: 3 } as const;

/** ChordLeaveType (RFC 6940 §9.7.4). */
export const ChordLeaveType = { invalid: 0, fromSucc: 1, fromPred: 2 } as const;

/** FramedMessageType (RFC 6940 §6.6.2). */
export const FramedMessageType = { data: 128, ack: 129 } as const;

/** Application-IDs for AppAttach (RFC 6940 §14.5). */
export const ApplicationId = { sip: 5060, sips: 5061 } as const;

/** Kind-IDs (RFC 6940 §14.3; SIP-REGISTRATION RFC 7904; ACCESS-CONTROL-LIST RFC 8076). */
export const KindIds = {
  invalid: 0x0,
  sipRegistration: 0x1,
  turnService: 0x2,
  certificateByNode: 0x3,
  accessControlList: 0x4,
  certificateByUser: 0x10,
  /**
   * RFC 7374 §10.1 registers REDIR as 0x104 in the IANA table; Wireshark's dissector uses
   * decimal 104 (0x68). We follow the registry (this node does not implement ReDiR).
   */
  redir: 0x104,
} as const;

/** Data models (RFC 6940 §7.2). Never on the wire: the Kind decides. */
export type DataModel = 'single' | 'array' | 'dictionary';

/** Array index meaning "append" in a Store, "last element" in a Fetch (RFC 6940 §7.2.2). */
export const ARRAY_INDEX_LAST = 0xffffffff;
