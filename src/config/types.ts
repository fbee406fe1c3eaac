/**
 * The overlay configuration document as typed values (RFC 6940 §11.1; behaviour digest
 * §9): one `OverlayConfiguration` per `<configuration>` element, with the defaults the
 * RFC gives for absent elements, plus this project's landmark list extension.
 */
import type { XmlElement } from './xml.js';

/** Base namespace of the configuration document (RFC 6940 §11.1). */
export const CONFIG_BASE_NS = 'urn:ietf:params:xml:ns:p2p:config-base';
/** CHORD-RELOAD parameters (RFC 6940 §11.1, `chord:` elements). */
export const CONFIG_CHORD_NS = 'urn:ietf:params:xml:ns:p2p:config-chord';
/** RFC 7904 §5 (SIP usage): `sip:domain-restriction` inside a kind. */
export const CONFIG_SIP_NS = 'urn:ietf:params:xml:ns:p2p:config-base:sip';
/** RFC 8076 §5 (ShaRe): `share:variable-resource-names` inside a kind. */
export const CONFIG_SHARE_NS = 'urn:ietf:params:xml:ns:p2p:config-base:share';
/**
 * This project's landmark list (landmarks-and-extras.md §A; RFC 6940 has no landmark
 * element, so it is an extension in our own namespace):
 *
 *     <lm:landmarks xmlns:lm="urn:reload-node:params:xml:ns:landmarks">
 *       <lm:landmark address="192.0.2.1" port="6084" node-id="0123…"/>   (node-id optional)
 *       <lm:landmark address="192.0.2.2" port="6084" transport="udp"/>   (transport optional)
 *     </lm:landmarks>
 *
 * `transport` names the link the landmark listens on — tls (the default: TLS over TCP with
 * the framed header), udp (simple reliability) or tcp (the insecure framed-TCP link) —
 * so a joining node can time a round trip to it before it has a certificate
 * (topology/landmarks/probe.ts). RFC 6940's overlay-link-protocol is overlay-wide and says
 * nothing per node, hence the attribute.
 * Nodes that do not know this namespace ignore it (foreign elements are allowed anywhere);
 * an overlay that needs every node to honour it lists it in `mandatory-extension`.
 */
export const LANDMARKS_NS = 'urn:reload-node:params:xml:ns:landmarks';

/** Media type of the document (RFC 6940 §14.19). */
export const CONFIG_MEDIA_TYPE = 'application/p2p-overlay+xml';
/** Well-known path of the configuration (RFC 6940 §11.2, §14.17). */
export const CONFIG_WELL_KNOWN_PATH = '/.well-known/reload-config';

/** Defaults for absent elements (RFC 6940 §11.1; behaviour digest §1, §9.2). */
export const CONFIG_DEFAULTS = {
  topologyPlugin: 'CHORD-RELOAD',
  nodeIdLength: 16,
  bootstrapPort: 6084,
  turnDensity: 1,
  clientsPermitted: true,
  noIce: false,
  chordUpdateIntervalS: 600,
  chordPingIntervalS: 3600,
  chordReactive: true,
  maxMessageSize: 5000,
  initialTtl: 100,
  overlayReliabilityTimerMs: 3000,
  overlayLinkProtocols: ['TLS'] as readonly string[],
} as const;

/** Smallest overlay-reliability-timer accepted (RFC 6940 §11.1), ms. */
export const MIN_OVERLAY_RELIABILITY_TIMER_MS = 200;

export interface BootstrapNode {
  /** IPv4 or IPv6 address text (RFC 6940 §11.1 bootstrap-node address). */
  address: string;
  port: number;
}

export interface Landmark {
  /** IP address or host name of the landmark. */
  address: string;
  port: number;
  /** Its Node-ID, when known. */
  nodeId?: Uint8Array | undefined;
  /** The link it listens on ({@link LANDMARKS_NS}); absent means 'tls'. */
  transport?: LandmarkTransport | undefined;
}

/** Link kinds a landmark can listen on (the `transport` attribute of `<lm:landmark>`). */
export const LANDMARK_TRANSPORTS = ['tls', 'udp', 'tcp'] as const;
export type LandmarkTransport = (typeof LANDMARK_TRANSPORTS)[number];

/** A foreign (unknown) element kept as the exact text it had in the document. */
export interface RawElement {
  /** Namespace URI (undefined = no namespace). */
  namespace: string | undefined;
  /** Local name. */
  name: string;
  /** Exact source text, first `<` to last `>`. */
  xml: string;
  /** The parsed element tree (offsets into the document text); absent on values built in code. */
  element?: XmlElement | undefined;
}

/** A foreign attribute (on `<configuration>` or `<kind>`), kept as parsed. */
export interface RawAttribute {
  namespace: string | undefined;
  name: string;
  value: string;
  /** The prefix it was written with (a hint for writing it again). */
  prefix?: string | undefined;
}

/** RFC 7904 §5: which AOR domains SIP-REGISTRATION accepts. */
export interface SipDomainRestriction {
  /** `enable` attribute: true = only `patterns`; false = only the overlay's own domain. */
  enable: boolean;
  /** POSIX extended regular expressions over the domain name. */
  patterns: string[];
}

/** RFC 8076 §5: Resource Names a USER-CHAIN-ACL Kind may use. */
export interface ShareVariableResourceNames {
  enable: boolean;
  /** POSIX ERE patterns containing $USER and $DOMAIN. */
  patterns: string[];
}

/** Data models and access policies as the document spells them (RFC 6940 §14.6, §14.7; RFC 8076). */
export const DATA_MODELS = ['SINGLE', 'ARRAY', 'DICTIONARY'] as const;
export const ACCESS_CONTROL_POLICIES = ['USER-MATCH', 'NODE-MATCH', 'USER-NODE-MATCH', 'NODE-MULTIPLE', 'USER-CHAIN-ACL'] as const;

export interface KindDefinition {
  /** The IANA name when the kind was given by `name=`. */
  name?: string | undefined;
  /** The Kind-ID: from `id=`, or looked up from the IANA name; undefined for a name unknown here. */
  id: number | undefined;
  /** SINGLE, ARRAY, DICTIONARY (other registry values are kept as written). */
  dataModel: string;
  /** USER-MATCH, NODE-MATCH, USER-NODE-MATCH, NODE-MULTIPLE, USER-CHAIN-ACL, ... */
  accessControl: string;
  maxCount: number;
  maxSize: number;
  /** Required with NODE-MULTIPLE: the largest i (> 0). */
  maxNodeMultiple?: number | undefined;
  sipDomainRestriction?: SipDomainRestriction | undefined;
  shareVariableResourceNames?: ShareVariableResourceNames | undefined;
  /** Other foreign elements inside `<kind>`, in document order. */
  extensions: RawElement[];
  /** Foreign attributes of `<kind>`. */
  extensionAttributes: RawAttribute[];
}

/** A kind-block as read from a document. */
export interface ParsedKindBlock {
  kind: KindDefinition;
  /** Exact text of the `<kind>` element: what the kind-signature covers. */
  kindXml: string;
  /** Exact text of the whole `<kind-block>` (a ConfigUpdate of type kind carries it). */
  blockXml: string;
  /** The kind-signature's base64 text, undefined when absent. */
  signatureBase64: string | undefined;
  /** `algorithm` attribute of the kind-signature, if any. */
  signatureAlgorithm: string | undefined;
}

export interface OverlayConfiguration {
  /** `instance-name`: the overlay name (required). */
  instanceName: string;
  /** 0..65534. */
  sequence: number;
  /** `expiration`, ms since the epoch; undefined = none given. */
  expiration: number | undefined;
  topologyPlugin: string;
  /** NodeIdLength in bytes, 16..20. */
  nodeIdLength: number;
  /** Trust anchors, DER. */
  rootCerts: Uint8Array[];
  /** https: URLs of enrollment servers. */
  enrollmentServers: string[];
  selfSignedPermitted: boolean;
  /** `digest` attribute of self-signed-permitted (set when the element is present). */
  selfSignedDigest: 'sha1' | 'sha256' | undefined;
  bootstrapNodes: BootstrapNode[];
  turnDensity: number;
  clientsPermitted: boolean;
  noIce: boolean;
  chordUpdateIntervalS: number;
  chordPingIntervalS: number;
  chordReactive: boolean;
  sharedSecret: string | undefined;
  maxMessageSize: number;
  initialTtl: number;
  overlayReliabilityTimerMs: number;
  /** Listed overlay-link-protocol values; ['TLS'] when none is listed. */
  overlayLinkProtocols: string[];
  configurationSigners: Uint8Array[];
  kindSigners: Uint8Array[];
  badNodes: Uint8Array[];
  /** XML namespaces every node must support. */
  mandatoryExtensions: string[];
  requiredKinds: KindDefinition[];
  /** This project's landmark list extension ({@link LANDMARKS_NS}). */
  landmarks: Landmark[];
  /** Foreign elements directly inside `<configuration>`, in document order. */
  extensions: RawElement[];
  /** Foreign attributes of `<configuration>`. */
  extensionAttributes: RawAttribute[];
}

/** A configuration with every optional field at its default (for building documents in code). */
export function defaultConfiguration(instanceName: string, overrides: Partial<OverlayConfiguration> = {}): OverlayConfiguration {
  return {
    instanceName,
    sequence: 0,
    expiration: undefined,
    topologyPlugin: CONFIG_DEFAULTS.topologyPlugin,
    nodeIdLength: CONFIG_DEFAULTS.nodeIdLength,
    rootCerts: [],
    enrollmentServers: [],
    selfSignedPermitted: false,
    selfSignedDigest: undefined,
    bootstrapNodes: [],
    turnDensity: CONFIG_DEFAULTS.turnDensity,
    clientsPermitted: CONFIG_DEFAULTS.clientsPermitted,
    noIce: CONFIG_DEFAULTS.noIce,
    chordUpdateIntervalS: CONFIG_DEFAULTS.chordUpdateIntervalS,
    chordPingIntervalS: CONFIG_DEFAULTS.chordPingIntervalS,
    chordReactive: CONFIG_DEFAULTS.chordReactive,
    sharedSecret: undefined,
    maxMessageSize: CONFIG_DEFAULTS.maxMessageSize,
    initialTtl: CONFIG_DEFAULTS.initialTtl,
    overlayReliabilityTimerMs: CONFIG_DEFAULTS.overlayReliabilityTimerMs,
    overlayLinkProtocols: [...CONFIG_DEFAULTS.overlayLinkProtocols],
    configurationSigners: [],
    kindSigners: [],
    badNodes: [],
    mandatoryExtensions: [],
    requiredKinds: [],
    landmarks: [],
    extensions: [],
    extensionAttributes: [],
    ...overrides,
  };
}

/** One `<configuration>` of a parsed document, with what its signature covers. */
export interface ParsedConfiguration {
  configuration: OverlayConfiguration;
  kindBlocks: ParsedKindBlock[];
  /** Exact bytes of the `<configuration>` element: what `<signature>` signs. */
  signedBytes: Uint8Array;
  /** Base64 text of the following `<signature>`, undefined if there is none. */
  signatureBase64: string | undefined;
  signatureAlgorithm: string | undefined;
  /** The `<configuration>` element tree (offsets into `OverlayDocument.text`). */
  element: XmlElement;
}

/** A parsed document: the exact bytes received and every configuration in it. */
export interface OverlayDocument {
  /** The document bytes exactly as received: re-emit these, never a re-serialization. */
  bytes: Uint8Array;
  /** The same, decoded (UTF-8). */
  text: string;
  configurations: ParsedConfiguration[];
  /** Foreign elements directly inside `<overlay>`. */
  extensions: RawElement[];
}
