/**
 * Writing a new overlay configuration document (RFC 6940 §11.1) from typed values, signed
 * as it is written: each `<kind>` is signed over its exact text by the kind signer, then
 * the whole `<configuration>` (kind-signatures included) over its exact text by the
 * configuration signer. An existing document is never re-serialized: to publish it again,
 * send its original bytes; this writer makes new versions.
 *
 * The namespace declarations the configuration uses are written on `<configuration>`
 * itself (not only on `<overlay>`), so the signature also covers what its prefixes mean;
 * a kind that uses the SIP or ShaRe extension declares that namespace on `<kind>`, so a
 * kind-block stays meaningful on its own (ConfigUpdate of type kind).
 */
import { Buffer } from 'node:buffer';
import type { Signer } from '../security/signer.js';
import { toHex, utf8 } from '../wire/codec.js';
import { ConfigurationError } from './errors.js';
import { parseOverlayDocument } from './parse.js';
import { isValidSequence } from './sequence.js';
import { signConfigurationBytes } from './signature.js';
import {
  CONFIG_BASE_NS,
  CONFIG_CHORD_NS,
  CONFIG_SHARE_NS,
  CONFIG_SIP_NS,
  LANDMARKS_NS,
  type KindDefinition,
  type OverlayConfiguration,
  type RawAttribute,
  type RawElement,
} from './types.js';
import { escapeXml } from './xml.js';

export interface ConfigurationToWrite {
  configuration: OverlayConfiguration;
  /** Signs the `<configuration>`: its Node-ID should be a configuration-signer. Unsigned when absent. */
  signer?: Signer | undefined;
  /** Signs each `<kind>` (default: `signer`): its Node-ID should be a kind-signer. */
  kindSigner?: Signer | undefined;
}

const PREFIXES: Record<string, string> = {
  [CONFIG_CHORD_NS]: 'chord',
  [LANDMARKS_NS]: 'lm',
  [CONFIG_SIP_NS]: 'sip',
  [CONFIG_SHARE_NS]: 'share',
};

/** Writes a signed document holding one or more configurations. Returns its bytes. */
export function writeOverlayDocument(entries: ConfigurationToWrite | readonly ConfigurationToWrite[]): Uint8Array {
  const list = Array.isArray(entries) ? entries : [entries as ConfigurationToWrite];
  if (list.length === 0) throw new ConfigurationError('structure', 'a document needs at least one configuration');
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', `<overlay xmlns="${CONFIG_BASE_NS}">\n`];
  for (const e of list) {
    const configXml = configurationXml(e.configuration, e.kindSigner ?? e.signer, '  ');
    parts.push('  ', configXml, '\n');
    // RFC 6940 §11.1: the signature covers the exact bytes of the element just written.
    if (e.signer) parts.push(`  <signature>${signConfigurationBytes(utf8(configXml), e.signer)}</signature>\n`);
  }
  parts.push('</overlay>\n');
  const bytes = utf8(parts.join(''));
  // Raw extension text is copied verbatim: make sure the result reads back.
  parseOverlayDocument(bytes, { maxBytes: Number.MAX_SAFE_INTEGER });
  return bytes;
}

/**
 * Lines of an element: the first line is not indented (it is placed by the caller), the
 * children are indented by `pad` + two spaces, the end tag by `pad`. Elements are built
 * with their final indentation because signatures cover their exact text.
 */
function element(open: string, children: readonly string[], close: string, pad: string): string {
  return `${open}\n${children.map((s) => `${pad}  ${s}`).join('\n')}\n${pad}${close}`;
}

/**
 * The text of a `<configuration>` element, kinds signed by `kindSigner` when given. `pad`
 * is the indentation of the line the element starts on.
 */
export function configurationXml(c: OverlayConfiguration, kindSigner?: Signer, pad = ''): string {
  check(c);
  const ns = new Map<string, string>([['', CONFIG_BASE_NS], ['chord', CONFIG_CHORD_NS]]);
  if (c.landmarks.length) ns.set('lm', LANDMARKS_NS);
  const attrs: string[] = [`instance-name="${escapeXml(c.instanceName)}"`, `sequence="${c.sequence}"`];
  if (c.expiration !== undefined) attrs.push(`expiration="${rfc3339(c.expiration)}"`);
  for (const ext of c.extensions) declareInScope(ext, ns);
  attrs.push(...foreignAttributes(c.extensionAttributes, ns));

  const l: string[] = [];
  const el = (name: string, value: string | number | boolean, attr = ''): void => {
    l.push(`<${name}${attr}>${escapeXml(String(value))}</${name}>`);
  };
  el('topology-plugin', c.topologyPlugin);
  el('node-id-length', c.nodeIdLength);
  for (const r of c.rootCerts) el('root-cert', Buffer.from(r).toString('base64'));
  for (const u of c.enrollmentServers) el('enrollment-server', u);
  if (c.selfSignedPermitted || c.selfSignedDigest) {
    el('self-signed-permitted', c.selfSignedPermitted, ` digest="${c.selfSignedDigest ?? 'sha256'}"`);
  }
  for (const b of c.bootstrapNodes) l.push(`<bootstrap-node address="${escapeXml(b.address)}" port="${b.port}"/>`);
  el('turn-density', c.turnDensity);
  el('clients-permitted', c.clientsPermitted);
  el('no-ice', c.noIce);
  el('chord:chord-update-interval', c.chordUpdateIntervalS);
  el('chord:chord-ping-interval', c.chordPingIntervalS);
  el('chord:chord-reactive', c.chordReactive);
  if (c.sharedSecret !== undefined) el('shared-secret', c.sharedSecret);
  el('max-message-size', c.maxMessageSize);
  el('initial-ttl', c.initialTtl);
  el('overlay-reliability-timer', c.overlayReliabilityTimerMs);
  for (const p of c.overlayLinkProtocols) el('overlay-link-protocol', p);
  for (const id of c.configurationSigners) el('configuration-signer', toHex(id));
  for (const id of c.kindSigners) el('kind-signer', toHex(id));
  for (const id of c.badNodes) el('bad-node', toHex(id));
  for (const m of c.mandatoryExtensions) el('mandatory-extension', m);
  if (c.landmarks.length) {
    const items = c.landmarks.map((lm) => {
      const id = lm.nodeId ? ` node-id="${toHex(lm.nodeId)}"` : '';
      const transport = lm.transport ? ` transport="${lm.transport}"` : '';
      return `<lm:landmark address="${escapeXml(lm.address)}" port="${lm.port}"${id}${transport}/>`;
    });
    l.push(element('<lm:landmarks>', items, '</lm:landmarks>', `${pad}  `));
  }
  for (const ext of c.extensions) l.push(ext.xml);
  if (c.requiredKinds.length) {
    const blocks = c.requiredKinds.map((k) => kindBlockXml(k, kindSigner, `${pad}    `));
    l.push(element('<required-kinds>', blocks, '</required-kinds>', `${pad}  `));
  }
  const decls = [...ns].map(([p, uri]) => (p ? `xmlns:${p}="${escapeXml(uri)}"` : `xmlns="${escapeXml(uri)}"`));
  return element(`<configuration ${[...decls, ...attrs].join(' ')}>`, l, '</configuration>', pad);
}

/** A `<kind-block>`: the `<kind>` and, when a signer is given, its `<kind-signature>`. */
export function kindBlockXml(k: KindDefinition, signer?: Signer, pad = ''): string {
  const kind = kindXml(k, `${pad}  `);
  const children = [kind];
  if (signer) children.push(`<kind-signature>${signConfigurationBytes(utf8(kind), signer)}</kind-signature>`);
  return element('<kind-block>', children, '</kind-block>', pad);
}

/** The text of a `<kind>` element (what a kind-signature covers). */
export function kindXml(k: KindDefinition, pad = ''): string {
  const ns = new Map<string, string>();
  if (k.sipDomainRestriction) ns.set('sip', CONFIG_SIP_NS);
  if (k.shareVariableResourceNames) ns.set('share', CONFIG_SHARE_NS);
  for (const ext of k.extensions) declareInScope(ext, ns);
  let ident: string;
  if (k.name !== undefined) ident = `name="${escapeXml(k.name)}"`;
  else if (k.id !== undefined) ident = `id="${k.id}"`;
  else throw new ConfigurationError('structure', 'a kind needs a name or an id');
  const attrs = [ident, ...foreignAttributes(k.extensionAttributes, ns)];
  const l: string[] = [
    `<data-model>${escapeXml(k.dataModel)}</data-model>`,
    `<access-control>${escapeXml(k.accessControl)}</access-control>`,
    `<max-count>${k.maxCount}</max-count>`,
    `<max-size>${k.maxSize}</max-size>`,
  ];
  if (k.maxNodeMultiple !== undefined) l.push(`<max-node-multiple>${k.maxNodeMultiple}</max-node-multiple>`);
  const patterns = (prefix: string, name: string, v: { enable: boolean; patterns: string[] }): void => {
    const items = v.patterns.map((p) => `<${prefix}:pattern>${escapeXml(p)}</${prefix}:pattern>`);
    const open = `<${prefix}:${name} enable="${v.enable}">`;
    l.push(items.length ? element(open, items, `</${prefix}:${name}>`, `${pad}  `) : `${open}</${prefix}:${name}>`);
  };
  if (k.sipDomainRestriction) patterns('sip', 'domain-restriction', k.sipDomainRestriction);
  if (k.shareVariableResourceNames) patterns('share', 'variable-resource-names', k.shareVariableResourceNames);
  for (const ext of k.extensions) l.push(ext.xml);
  const decls = [...ns].map(([p, uri]) => `xmlns:${p}="${escapeXml(uri)}"`);
  return element(`<kind ${[...decls, ...attrs].join(' ')}>`, l, '</kind>', pad);
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** Writes foreign attributes, declaring a prefix for each namespace not yet bound. */
function foreignAttributes(attrs: readonly RawAttribute[], ns: Map<string, string>): string[] {
  const out: string[] = [];
  for (const a of attrs) {
    if (a.namespace === undefined) {
      out.push(`${a.name}="${escapeXml(a.value)}"`);
      continue;
    }
    let prefix = [...ns].find(([p, uri]) => p !== '' && uri === a.namespace)?.[0];
    if (prefix === undefined) {
      prefix = a.prefix ?? PREFIXES[a.namespace] ?? `ext${ns.size}`;
      while (ns.has(prefix)) prefix = `${prefix}x`;
      ns.set(prefix, a.namespace);
    }
    out.push(`${prefix}:${a.name}="${escapeXml(a.value)}"`);
  }
  return out;
}

/**
 * A raw element copied from another document may use prefixes declared on its old
 * ancestors: declare those here too (unless the prefix is already bound differently).
 */
function declareInScope(ext: RawElement, ns: Map<string, string>): void {
  if (!ext.element) return;
  for (const [p, uri] of ext.element.namespaces) {
    if (p === '' || p === 'xml' || ns.has(p)) continue;
    const q = p.replace(/[.\-]/g, '\\$&');
    if (new RegExp(`<${q}:|\\s${q}:[^=\\s]+=`).test(ext.xml)) ns.set(p, uri);
  }
}

function check(c: OverlayConfiguration): void {
  if (!isValidSequence(c.sequence)) throw new ConfigurationError('value', `sequence ${c.sequence} is not in 0..65534`);
  if (c.nodeIdLength < 16 || c.nodeIdLength > 20) throw new ConfigurationError('value', `node-id-length ${c.nodeIdLength} is not in 16..20`);
  if (c.selfSignedPermitted && !c.selfSignedDigest) throw new ConfigurationError('value', 'self-signed-permitted needs a digest (sha1 or sha256)');
  if (!c.selfSignedPermitted && c.rootCerts.length === 0) {
    throw new ConfigurationError('structure', 'a configuration needs a root-cert unless it permits self-signed certificates');
  }
}
