/**
 * Reading the overlay configuration document (RFC 6940 §11.1; behaviour digest §9.1-9.2)
 * into typed values. The bytes received are kept as they are: each configuration carries
 * the exact bytes its `<signature>` covers and each kind-block the exact text of its
 * `<kind>`, so nothing is ever re-serialized. Foreign-namespace elements and attributes
 * are allowed anywhere and exposed raw.
 */
import { isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { fromHex, fromUtf8, utf8 } from '../wire/codec.js';
import { ConfigurationError } from './errors.js';
import { IANA_KINDS } from './kinds.js';
import { isValidSequence } from './sequence.js';
import {
  CONFIG_BASE_NS,
  CONFIG_CHORD_NS,
  CONFIG_SHARE_NS,
  CONFIG_SIP_NS,
  LANDMARKS_NS,
  LANDMARK_TRANSPORTS,
  MIN_OVERLAY_RELIABILITY_TIMER_MS,
  type BootstrapNode,
  type KindDefinition,
  type Landmark,
  type LandmarkTransport,
  type OverlayConfiguration,
  type OverlayDocument,
  type ParsedConfiguration,
  type ParsedKindBlock,
  type RawAttribute,
  type RawElement,
  type ShareVariableResourceNames,
  type SipDomainRestriction,
  defaultConfiguration,
} from './types.js';
import { type XmlElement, XmlError, attributeValue, parseXml } from './xml.js';

/** Largest document accepted by default (the RFC sets no limit; documents are small). */
export const MAX_CONFIGURATION_BYTES = 1024 * 1024;

export interface ParseOptions {
  /** Largest document accepted, bytes (default {@link MAX_CONFIGURATION_BYTES}). */
  maxBytes?: number;
}

/** Parses a configuration document. Throws ConfigurationError (never anything else). */
export function parseOverlayDocument(input: Uint8Array | string, opts: ParseOptions = {}): OverlayDocument {
  const max = opts.maxBytes ?? MAX_CONFIGURATION_BYTES;
  const bytes = typeof input === 'string' ? utf8(input) : new Uint8Array(input);
  if (bytes.length > max) throw new ConfigurationError('too_large', `configuration document is ${bytes.length} bytes, more than ${max}`);
  let text: string;
  try {
    text = fromUtf8(bytes, 'configuration', 'document');
  } catch (err) {
    throw new ConfigurationError('xml', 'configuration document is not valid UTF-8', { cause: err });
  }
  const root = parseDocumentXml(text);
  if (!isBase(root) || root.local !== 'overlay') {
    throw new ConfigurationError('structure', `root element is <${root.qname}>, expected <overlay> in ${CONFIG_BASE_NS}`);
  }
  requireNoText(root);
  const configurations: ParsedConfiguration[] = [];
  const extensions: RawElement[] = [];
  let last: ParsedConfiguration | undefined;
  for (const el of root.children) {
    if (isBase(el) && el.local === 'configuration') {
      const { configuration, kindBlocks } = readConfiguration(el, text);
      last = {
        configuration,
        kindBlocks,
        signedBytes: utf8(text.slice(el.start, el.end)),
        signatureBase64: undefined,
        signatureAlgorithm: undefined,
        element: el,
      };
      configurations.push(last);
    } else if (isBase(el) && el.local === 'signature') {
      // RFC 6940 §11.1: each <signature> signs the <configuration> just before it.
      if (!last || last.signatureBase64 !== undefined) {
        throw new ConfigurationError('structure', '<signature> does not follow a <configuration>');
      }
      last.signatureBase64 = base64Text(el, 'signature');
      last.signatureAlgorithm = attributeValue(el, 'algorithm');
    } else {
      // Foreign (or unknown) elements are kept raw; a <signature> cannot follow them.
      extensions.push(raw(el, text));
      last = undefined;
    }
  }
  if (configurations.length === 0) throw new ConfigurationError('structure', 'document has no <configuration>');
  return { bytes, text, configurations, extensions };
}

/**
 * The configuration for `instanceName` (case-insensitive), or the only one when no name
 * is given. Throws ConfigurationError('instance_name') when there is none.
 */
export function selectConfiguration(doc: OverlayDocument, instanceName?: string): ParsedConfiguration {
  if (instanceName === undefined) {
    if (doc.configurations.length === 1) return doc.configurations[0]!;
    throw new ConfigurationError('instance_name', 'document holds several configurations; name the overlay');
  }
  const want = instanceName.toLowerCase();
  const c = doc.configurations.find((p) => p.configuration.instanceName.toLowerCase() === want);
  if (!c) throw new ConfigurationError('instance_name', `document has no configuration for overlay ${instanceName}`);
  return c;
}

/**
 * Parses a standalone `<kind-block>` (a ConfigUpdate of type kind carries these, RFC 6940
 * §6.5.4). Unprefixed elements are read as the base namespace.
 */
export function parseKindBlock(input: Uint8Array | string): ParsedKindBlock {
  let text: string;
  try {
    text = typeof input === 'string' ? input : fromUtf8(input, 'kind-block', 'xml');
  } catch (err) {
    throw new ConfigurationError('xml', 'kind-block is not valid UTF-8', { cause: err });
  }
  const el = parseDocumentXml(text);
  if (!isBase(el) || el.local !== 'kind-block') throw new ConfigurationError('structure', `expected <kind-block>, got <${el.qname}>`);
  return readKindBlock(el, text);
}

function parseDocumentXml(text: string): XmlElement {
  try {
    return parseXml(text);
  } catch (err) {
    if (err instanceof XmlError) throw new ConfigurationError('xml', `configuration is not well-formed XML: ${err.message}`, { cause: err });
    throw err;
  }
}

function isBase(el: XmlElement): boolean {
  // Documents that forget the namespace declaration are read as the base namespace.
  return el.namespace === CONFIG_BASE_NS || el.namespace === undefined;
}

function raw(el: XmlElement, text: string): RawElement {
  return { namespace: el.namespace, name: el.local, xml: text.slice(el.start, el.end), element: el };
}

function requireNoText(el: XmlElement): void {
  if (el.text.trim() !== '') throw new ConfigurationError('structure', `<${el.qname}> holds text where only elements are allowed`);
}

function textOf(el: XmlElement): string {
  if (el.children.length > 0) throw new ConfigurationError('structure', `<${el.qname}> must hold text, not elements`);
  return el.text.trim();
}

function integer(el: XmlElement, min: number, max: number): number {
  return integerText(textOf(el), el.qname, min, max);
}

function integerText(v: string, what: string, min: number, max: number): number {
  if (!/^\+?[0-9]{1,10}$/.test(v)) throw new ConfigurationError('value', `${what} must be an integer, got ${JSON.stringify(v.slice(0, 40))}`);
  const n = Number(v);
  if (n < min || n > max) throw new ConfigurationError('value', `${what} must be in ${min}..${max}, got ${n}`);
  return n;
}

/** xsd:boolean as RFC 6940 §11.1 uses it: true/1, false/0. */
function booleanText(v: string, what: string): boolean {
  const t = v.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new ConfigurationError('value', `${what} must be true, false, 1 or 0, got ${JSON.stringify(t.slice(0, 40))}`);
}

function base64Text(el: XmlElement, what: string): string {
  const v = textOf(el).replace(/\s+/g, '');
  if (v.length === 0 || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) {
    throw new ConfigurationError('value', `<${what}> is not base64`);
  }
  return v;
}

function hexNodeId(el: XmlElement): Uint8Array {
  const v = textOf(el);
  try {
    return fromHex(v);
  } catch {
    throw new ConfigurationError('value', `<${el.qname}> must be a hex Node-ID, got ${JSON.stringify(v.slice(0, 40))}`);
  }
}

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Whether `name` is a DNS host name (RFC 1123 labels, at most 253 characters). */
export function isDnsName(name: string): boolean {
  return DNS_NAME.test(name);
}
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

function readConfiguration(el: XmlElement, text: string): { configuration: OverlayConfiguration; kindBlocks: ParsedKindBlock[] } {
  const instanceName = attributeValue(el, 'instance-name');
  if (instanceName === undefined) throw new ConfigurationError('structure', '<configuration> has no instance-name');
  // RFC 6940 §11.1: the instance name must be a valid DNS name (it is hashed into the overlay id).
  if (!DNS_NAME.test(instanceName)) throw new ConfigurationError('value', `instance-name ${JSON.stringify(instanceName.slice(0, 80))} is not a DNS name`);
  const c = defaultConfiguration(instanceName);
  c.overlayLinkProtocols = [];
  const seq = attributeValue(el, 'sequence');
  if (seq !== undefined) {
    c.sequence = integerText(seq.trim(), 'sequence', 0, 65535);
    if (!isValidSequence(c.sequence)) throw new ConfigurationError('value', 'sequence 65535 is never used (RFC 6940 §11.1)');
  }
  const exp = attributeValue(el, 'expiration');
  if (exp !== undefined) {
    const t = exp.trim();
    const ms = RFC3339.test(t) ? Date.parse(t) : NaN;
    if (Number.isNaN(ms)) throw new ConfigurationError('value', `expiration ${JSON.stringify(t.slice(0, 40))} is not an RFC 3339 time`);
    c.expiration = ms;
  }
  for (const a of el.attributes) {
    if (a.namespace === undefined && (a.local === 'instance-name' || a.local === 'sequence' || a.local === 'expiration')) continue;
    c.extensionAttributes.push({ namespace: a.namespace, name: a.local, value: a.value, prefix: a.prefix || undefined });
  }
  requireNoText(el);

  const seen = new Set<string>();
  const once = (child: XmlElement, local = child.local): void => {
    const key = `${child.namespace}|${local}`;
    if (seen.has(key)) throw new ConfigurationError('structure', `<${child.qname}> appears more than once`);
    seen.add(key);
  };
  const kindBlocks: ParsedKindBlock[] = [];
  for (const child of el.children) {
    if (isBase(child)) {
      switch (child.local) {
        case 'topology-plugin':
        case 'topology-plug-in': // the prose's spelling (behaviour digest §11 item 3)
          once(child, 'topology-plugin');
          c.topologyPlugin = textOf(child);
          if (!c.topologyPlugin) throw new ConfigurationError('value', 'topology-plugin is empty');
          break;
        case 'node-id-length':
          once(child);
          c.nodeIdLength = integer(child, 16, 20);
          break;
        case 'root-cert': {
          const der = new Uint8Array(Buffer.from(base64Text(child, 'root-cert'), 'base64'));
          try {
            new X509Certificate(der);
          } catch (err) {
            throw new ConfigurationError('value', '<root-cert> is not a DER X.509 certificate', { cause: err });
          }
          c.rootCerts.push(der);
          break;
        }
        case 'enrollment-server': {
          const url = textOf(child);
          let parsed: URL;
          try {
            parsed = new URL(url);
          } catch {
            throw new ConfigurationError('value', `enrollment-server ${JSON.stringify(url.slice(0, 80))} is not a URL`);
          }
          if (parsed.protocol !== 'https:') throw new ConfigurationError('value', `enrollment-server must be an https: URL, got ${parsed.protocol}`);
          c.enrollmentServers.push(url);
          break;
        }
        case 'self-signed-permitted': {
          once(child);
          c.selfSignedPermitted = booleanText(textOf(child), 'self-signed-permitted');
          const digest = attributeValue(child, 'digest');
          // The grammar makes `digest` required; there is no default to fall back on.
          if (digest !== 'sha1' && digest !== 'sha256') {
            throw new ConfigurationError('value', `self-signed-permitted digest must be sha1 or sha256, got ${JSON.stringify(digest ?? null)}`);
          }
          c.selfSignedDigest = digest;
          break;
        }
        case 'bootstrap-node':
          c.bootstrapNodes.push(bootstrapNode(child));
          break;
        case 'turn-density':
          once(child);
          c.turnDensity = integer(child, 0, 255);
          break;
        case 'clients-permitted':
          once(child);
          c.clientsPermitted = booleanText(textOf(child), 'clients-permitted');
          break;
        case 'no-ice':
          once(child);
          c.noIce = booleanText(textOf(child), 'no-ice');
          break;
        case 'shared-secret':
          once(child);
          c.sharedSecret = textOf(child);
          break;
        case 'max-message-size':
          once(child);
          c.maxMessageSize = integer(child, 1, 0xffffffff);
          break;
        case 'initial-ttl':
          once(child);
          c.initialTtl = integer(child, 1, 255);
          break;
        case 'overlay-reliability-timer':
          once(child);
          c.overlayReliabilityTimerMs = integer(child, MIN_OVERLAY_RELIABILITY_TIMER_MS, 0xffffffff);
          break;
        case 'overlay-link-protocol': {
          const v = textOf(child);
          if (!v) throw new ConfigurationError('value', 'overlay-link-protocol is empty');
          c.overlayLinkProtocols.push(v);
          break;
        }
        case 'configuration-signer':
          c.configurationSigners.push(hexNodeId(child));
          break;
        case 'kind-signer':
          c.kindSigners.push(hexNodeId(child));
          break;
        case 'bad-node':
          c.badNodes.push(hexNodeId(child));
          break;
        case 'mandatory-extension': {
          const v = textOf(child);
          if (!v) throw new ConfigurationError('value', 'mandatory-extension is empty');
          c.mandatoryExtensions.push(v);
          break;
        }
        case 'required-kinds':
          once(child);
          requireNoText(child);
          for (const kb of child.children) {
            if (isBase(kb) && kb.local === 'kind-block') kindBlocks.push(readKindBlock(kb, text));
            else if (isBase(kb)) throw new ConfigurationError('structure', `unexpected <${kb.qname}> inside <required-kinds>`);
          }
          break;
        default:
          // Not in the RFC 6940 grammar: kept raw, like a foreign element.
          c.extensions.push(raw(child, text));
      }
    } else if (child.namespace === CONFIG_CHORD_NS) {
      switch (child.local) {
        case 'chord-update-interval':
          once(child);
          c.chordUpdateIntervalS = integer(child, 1, 0xffffffff);
          break;
        case 'chord-ping-interval':
          once(child);
          c.chordPingIntervalS = integer(child, 1, 0xffffffff);
          break;
        case 'chord-reactive':
          once(child);
          c.chordReactive = booleanText(textOf(child), 'chord-reactive');
          break;
        default:
          c.extensions.push(raw(child, text));
      }
    } else if (child.namespace === LANDMARKS_NS && child.local === 'landmarks') {
      once(child);
      c.landmarks = landmarks(child);
    } else {
      c.extensions.push(raw(child, text));
    }
  }
  if (c.overlayLinkProtocols.length === 0) c.overlayLinkProtocols = ['TLS'];
  for (const [what, ids] of [
    ['configuration-signer', c.configurationSigners],
    ['kind-signer', c.kindSigners],
    ['bad-node', c.badNodes],
  ] as const) {
    for (const id of ids) {
      if (id.length !== c.nodeIdLength) {
        throw new ConfigurationError('value', `${what} is ${id.length} bytes, node-id-length is ${c.nodeIdLength}`);
      }
    }
  }
  for (const lm of c.landmarks) {
    if (lm.nodeId && lm.nodeId.length !== c.nodeIdLength) {
      throw new ConfigurationError('value', `landmark node-id is ${lm.nodeId.length} bytes, node-id-length is ${c.nodeIdLength}`);
    }
  }
  if (c.selfSignedPermitted === false && c.rootCerts.length === 0) {
    throw new ConfigurationError('structure', 'configuration has no root-cert and does not permit self-signed certificates');
  }
  c.requiredKinds = kindBlocks.map((k) => k.kind);
  return { configuration: c, kindBlocks };
}

function port(v: string | undefined, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  return integerText(v.trim(), `${what} port`, 1, 65535);
}

function bootstrapNode(el: XmlElement): BootstrapNode {
  const address = attributeValue(el, 'address')?.trim();
  if (!address) throw new ConfigurationError('structure', '<bootstrap-node> has no address');
  // RFC 6940 §11.1: an IPv4 or IPv6 address, not a host name.
  if (isIP(address) === 0) throw new ConfigurationError('value', `bootstrap-node address ${JSON.stringify(address.slice(0, 80))} is not an IP address`);
  return { address, port: port(attributeValue(el, 'port'), 'bootstrap-node', 6084) };
}

function landmarks(el: XmlElement): Landmark[] {
  const out: Landmark[] = [];
  for (const child of el.children) {
    if (child.namespace !== LANDMARKS_NS || child.local !== 'landmark') continue;
    const address = attributeValue(child, 'address')?.trim();
    if (!address) throw new ConfigurationError('structure', '<landmark> has no address');
    const lm: Landmark = { address, port: port(attributeValue(child, 'port'), 'landmark', 6084) };
    const id = attributeValue(child, 'node-id');
    if (id !== undefined) {
      try {
        lm.nodeId = fromHex(id);
      } catch {
        throw new ConfigurationError('value', `landmark node-id ${JSON.stringify(id.slice(0, 40))} is not hex`);
      }
    }
    const transport = attributeValue(child, 'transport')?.trim().toLowerCase();
    if (transport !== undefined) {
      if (!(LANDMARK_TRANSPORTS as readonly string[]).includes(transport)) {
        throw new ConfigurationError('value', `landmark transport ${JSON.stringify(transport.slice(0, 40))} is not one of ${LANDMARK_TRANSPORTS.join(', ')}`);
      }
      lm.transport = transport as LandmarkTransport;
    }
    out.push(lm);
  }
  return out;
}

function readKindBlock(el: XmlElement, text: string): ParsedKindBlock {
  requireNoText(el);
  let kindEl: XmlElement | undefined;
  let sigEl: XmlElement | undefined;
  for (const child of el.children) {
    if (!isBase(child)) continue;
    if (child.local === 'kind') {
      if (kindEl) throw new ConfigurationError('structure', '<kind-block> holds more than one <kind>');
      kindEl = child;
    } else if (child.local === 'kind-signature') {
      if (sigEl) throw new ConfigurationError('structure', '<kind-block> holds more than one <kind-signature>');
      sigEl = child;
    } else {
      throw new ConfigurationError('structure', `unexpected <${child.qname}> inside <kind-block>`);
    }
  }
  if (!kindEl) throw new ConfigurationError('structure', '<kind-block> has no <kind>');
  return {
    kind: readKind(kindEl, text),
    kindXml: text.slice(kindEl.start, kindEl.end),
    blockXml: text.slice(el.start, el.end),
    signatureBase64: sigEl ? base64Text(sigEl, 'kind-signature') : undefined,
    signatureAlgorithm: sigEl ? attributeValue(sigEl, 'algorithm') : undefined,
  };
}

function readKind(el: XmlElement, text: string): KindDefinition {
  const name = attributeValue(el, 'name')?.trim();
  const idText = attributeValue(el, 'id')?.trim();
  if ((name === undefined) === (idText === undefined)) {
    throw new ConfigurationError('structure', '<kind> needs exactly one of name= or id=');
  }
  let id: number | undefined;
  if (idText !== undefined) id = integerText(idText, 'kind id', 1, 0xffffffff);
  else id = IANA_KINDS[name!]?.id;
  requireNoText(el);
  const kind: KindDefinition = {
    name,
    id,
    dataModel: '',
    accessControl: '',
    maxCount: 0,
    maxSize: 0,
    extensions: [],
    extensionAttributes: [] as RawAttribute[],
  };
  for (const a of el.attributes) {
    if (a.namespace === undefined && (a.local === 'name' || a.local === 'id')) continue;
    kind.extensionAttributes.push({ namespace: a.namespace, name: a.local, value: a.value, prefix: a.prefix || undefined });
  }
  const seen = new Set<string>();
  let maxCount: number | undefined;
  let maxSize: number | undefined;
  const label = name ?? `id ${idText}`;
  for (const child of el.children) {
    if (isBase(child)) {
      if (seen.has(child.local)) throw new ConfigurationError('structure', `kind ${label}: <${child.qname}> appears more than once`);
      seen.add(child.local);
      switch (child.local) {
        case 'data-model':
          kind.dataModel = textOf(child).toUpperCase();
          break;
        case 'access-control':
          kind.accessControl = textOf(child).toUpperCase();
          break;
        case 'max-count':
          maxCount = integer(child, 1, 0x7fffffff);
          break;
        case 'max-size':
          maxSize = integer(child, 1, 0x7fffffff);
          break;
        case 'max-node-multiple':
          kind.maxNodeMultiple = integer(child, 1, 0x7fffffff);
          break;
        default:
          kind.extensions.push(raw(child, text));
      }
    } else if (child.namespace === CONFIG_SIP_NS && (child.local === 'domain-restriction' || child.local === 'domain-restrictions')) {
      // RFC 7904 §5: the grammar says domain-restriction, the prose domain-restrictions.
      kind.sipDomainRestriction = patternElement(child, CONFIG_SIP_NS) satisfies SipDomainRestriction;
    } else if (child.namespace === CONFIG_SHARE_NS && child.local === 'variable-resource-names') {
      kind.shareVariableResourceNames = patternElement(child, CONFIG_SHARE_NS) satisfies ShareVariableResourceNames;
    } else {
      kind.extensions.push(raw(child, text));
    }
  }
  if (!kind.dataModel) throw new ConfigurationError('structure', `kind ${label} has no <data-model>`);
  if (!kind.accessControl) throw new ConfigurationError('structure', `kind ${label} has no <access-control>`);
  if (maxCount === undefined) throw new ConfigurationError('structure', `kind ${label} has no <max-count>`);
  if (maxSize === undefined) throw new ConfigurationError('structure', `kind ${label} has no <max-size>`);
  kind.maxCount = maxCount;
  kind.maxSize = maxSize;
  // RFC 6940 §11.1: for registered Kinds the registry's model and policy win.
  const registered = name !== undefined ? IANA_KINDS[name] : Object.values(IANA_KINDS).find((k) => k.id === id);
  if (registered) {
    kind.dataModel = registered.dataModel;
    kind.accessControl = registered.accessControl;
  }
  if (kind.accessControl === 'NODE-MULTIPLE' && kind.maxNodeMultiple === undefined) {
    if (registered?.maxNodeMultiple === undefined) throw new ConfigurationError('structure', `kind ${label} is NODE-MULTIPLE without <max-node-multiple>`);
    kind.maxNodeMultiple = registered.maxNodeMultiple;
  }
  return kind;
}

function patternElement(el: XmlElement, ns: string): { enable: boolean; patterns: string[] } {
  const enable = attributeValue(el, 'enable');
  const patterns: string[] = [];
  for (const child of el.children) {
    if (child.namespace === ns && child.local === 'pattern') patterns.push(textOf(child));
  }
  return { enable: enable === undefined ? false : booleanText(enable, `${el.qname} enable`), patterns };
}
