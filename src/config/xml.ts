/**
 * A small, strict, non-validating XML 1.0 + Namespaces reader that keeps the source
 * offsets of every element.
 *
 * Why not a general parser: the overlay configuration signature covers the exact bytes of
 * the `<configuration>` element "from its first `<` to its last `>`" and a kind-signature
 * the exact bytes of `<kind>` (RFC 6940 §11.1; behaviour digest §9.2). Those spans must be
 * cut out of the received text, never re-serialized, so the reader reports where each
 * element starts and ends; fast-xml-parser (the project's XML library) does not expose
 * source offsets.
 *
 * Hostile-input safety: DOCTYPE declarations are refused (no entity expansion, no
 * external entities), only the five predefined entities and character references are
 * decoded, nesting depth, element count and attribute count are bounded, and every
 * failure is an {@link XmlError} carrying the offset. No recursion: the element stack is
 * explicit.
 */

export class XmlError extends Error {
  readonly code = 'ERR_RELOAD_XML';
  constructor(
    message: string,
    /** Character offset in the source text where the problem was found. */
    readonly offset: number,
  ) {
    super(`${message} (at character ${offset})`);
    this.name = 'XmlError';
  }
}

export interface XmlAttribute {
  /** The name as written, e.g. `lm:node-id`. */
  readonly qname: string;
  readonly prefix: string;
  readonly local: string;
  /** Namespace URI; unprefixed attributes are in no namespace (undefined). */
  readonly namespace: string | undefined;
  /** Decoded, normalized value. */
  readonly value: string;
}

export interface XmlElement {
  /** The name as written, e.g. `chord:chord-reactive`. */
  readonly qname: string;
  readonly prefix: string;
  readonly local: string;
  /** Namespace URI, or undefined when the element is in no namespace. */
  readonly namespace: string | undefined;
  readonly attributes: readonly XmlAttribute[];
  readonly children: readonly XmlElement[];
  /** Character data directly inside this element (entities decoded, CDATA included). */
  readonly text: string;
  /** Offset of the element's first `<` in the source. */
  readonly start: number;
  /** Offset just after the element's last `>`. */
  readonly end: number;
  /** In-scope namespace bindings (prefix → URI; '' is the default namespace). */
  readonly namespaces: ReadonlyMap<string, string>;
}

export interface XmlLimits {
  /** Deepest element nesting accepted (default 64). */
  maxDepth?: number;
  /** Most elements in a document (default 20000). */
  maxElements?: number;
  /** Most attributes on one element (default 128). */
  maxAttributes?: number;
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

// XML 1.0 Name, restricted to the BMP ranges that matter; ':' handled by the namespace step.
const NAME_START = /[A-Za-z_:\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD]/;
const NAME_CHAR = /[-A-Za-z0-9_:.\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C-\u200D\u203F-\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD]/;
// Characters XML 1.0 forbids anywhere (C0 controls other than TAB, LF, CR; FFFE/FFFF).
const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const WS = new Set([' ', '\t', '\n', '\r']);

interface OpenElement {
  qname: string;
  start: number;
  rawAttributes: { qname: string; value: string; at: number }[];
  children: XmlElement[];
  text: string[];
  namespaces: Map<string, string>;
}

/** The source text of an element: exactly the characters from its first `<` to its last `>`. */
export function rawXml(source: string, el: XmlElement): string {
  return source.slice(el.start, el.end);
}

/** First attribute with this local name (and namespace; unprefixed = no namespace). */
export function attributeValue(el: XmlElement, local: string, namespace?: string): string | undefined {
  for (const a of el.attributes) if (a.local === local && a.namespace === namespace) return a.value;
  return undefined;
}

/** Parses a whole XML document and returns its root element. */
export function parseXml(text: string, limits: XmlLimits = {}): XmlElement {
  return new XmlReader(text, limits).document();
}

class XmlReader {
  private i = 0;
  private elements = 0;
  private readonly maxDepth: number;
  private readonly maxElements: number;
  private readonly maxAttributes: number;

  constructor(
    private readonly s: string,
    limits: XmlLimits,
  ) {
    this.maxDepth = limits.maxDepth ?? 64;
    this.maxElements = limits.maxElements ?? 20_000;
    this.maxAttributes = limits.maxAttributes ?? 128;
    const bad = FORBIDDEN_CHAR.exec(s);
    if (bad) throw new XmlError(`character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} is not allowed in XML`, bad.index);
    // Unpaired surrogates cannot come from strict UTF-8 decoding, but a caller may pass any string.
    const lone = LONE_SURROGATE.exec(s);
    if (lone) throw new XmlError('unpaired surrogate in text', lone.index);
  }

  document(): XmlElement {
    const s = this.s;
    if (s.charCodeAt(0) === 0xfeff) this.i = 1;
    if (s.startsWith('<?xml', this.i) && WS.has(s[this.i + 5] ?? '')) this.xmlDeclaration();
    this.misc();
    if (this.i >= s.length || s[this.i] !== '<') throw new XmlError('expected the root element', this.i);
    const root = this.element(new Map([['xml', XML_NS]]));
    this.misc();
    if (this.i < s.length) throw new XmlError('content after the root element', this.i);
    return root;
  }

  private xmlDeclaration(): void {
    const end = this.s.indexOf('?>', this.i);
    if (end < 0) throw new XmlError('unterminated XML declaration', this.i);
    const decl = this.s.slice(this.i + 5, end);
    if (!/^\s+version\s*=\s*("1\.[0-9]+"|'1\.[0-9]+')(\s+encoding\s*=\s*("[A-Za-z][-A-Za-z0-9._]*"|'[A-Za-z][-A-Za-z0-9._]*'))?(\s+standalone\s*=\s*("(yes|no)"|'(yes|no)'))?\s*$/.test(decl)) {
      throw new XmlError('malformed XML declaration', this.i);
    }
    const enc = /encoding\s*=\s*["']([^"']+)["']/.exec(decl);
    if (enc && !/^utf-?8$/i.test(enc[1]!)) throw new XmlError(`unsupported encoding ${enc[1]} (UTF-8 only)`, this.i);
    this.i = end + 2;
  }

  /** Whitespace, comments and processing instructions outside the root element. */
  private misc(): void {
    const s = this.s;
    for (;;) {
      while (this.i < s.length && WS.has(s[this.i]!)) this.i++;
      if (s.startsWith('<!--', this.i)) this.comment();
      else if (s.startsWith('<?', this.i)) this.processingInstruction();
      else if (s.startsWith('<!DOCTYPE', this.i) || s.startsWith('<!doctype', this.i)) {
        throw new XmlError('DOCTYPE declarations are not accepted', this.i);
      } else return;
    }
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.i + 4);
    if (end < 0) throw new XmlError('unterminated comment', this.i);
    if (this.s.slice(this.i + 4, end).includes('--')) throw new XmlError('"--" inside a comment', this.i);
    this.i = end + 3;
  }

  private processingInstruction(): void {
    const at = this.i;
    this.i += 2;
    const target = this.name();
    if (target.toLowerCase() === 'xml') throw new XmlError('XML declaration not at the start of the document', at);
    const end = this.s.indexOf('?>', this.i);
    if (end < 0) throw new XmlError('unterminated processing instruction', at);
    this.i = end + 2;
  }

  private name(): string {
    const s = this.s;
    const start = this.i;
    if (this.i >= s.length || !NAME_START.test(s[this.i]!)) throw new XmlError('expected a name', this.i);
    this.i++;
    while (this.i < s.length && NAME_CHAR.test(s[this.i]!)) this.i++;
    return s.slice(start, this.i);
  }

  private skipWs(): boolean {
    const from = this.i;
    while (this.i < this.s.length && WS.has(this.s[this.i]!)) this.i++;
    return this.i > from;
  }

  /** Parses one element (with its whole subtree) starting at `<`. */
  private element(parentNs: Map<string, string>): XmlElement {
    const s = this.s;
    const stack: OpenElement[] = [];
    let scope = parentNs;
    let result: XmlElement | undefined;
    // Each turn of the loop either opens a start tag, closes an end tag, or reads content.
    for (;;) {
      if (stack.length === 0 && result) return result;
      if (this.i >= s.length) throw new XmlError(`element <${stack.at(-1)?.qname}> is not closed`, this.i);
      if (stack.length > 0 && s[this.i] !== '<') {
        this.characterData(stack.at(-1)!);
        continue;
      }
      if (stack.length > 0 && s.startsWith('</', this.i)) {
        const open = stack.pop()!;
        this.i += 2;
        const at = this.i;
        const qname = this.name();
        if (qname !== open.qname) throw new XmlError(`end tag </${qname}> does not match <${open.qname}>`, at);
        this.skipWs();
        if (s[this.i] !== '>') throw new XmlError('expected ">" to end the end tag', this.i);
        this.i++;
        const done = this.finish(open, this.i);
        scope = stack.length ? stack.at(-1)!.namespaces : parentNs;
        if (stack.length) stack.at(-1)!.children.push(done);
        else result = done;
        continue;
      }
      if (stack.length > 0 && s.startsWith('<!--', this.i)) {
        this.comment();
        continue;
      }
      if (stack.length > 0 && s.startsWith('<![CDATA[', this.i)) {
        const end = s.indexOf(']]>', this.i + 9);
        if (end < 0) throw new XmlError('unterminated CDATA section', this.i);
        stack.at(-1)!.text.push(s.slice(this.i + 9, end));
        this.i = end + 3;
        continue;
      }
      if (stack.length > 0 && s.startsWith('<?', this.i)) {
        this.processingInstruction();
        continue;
      }
      if (s.startsWith('<!', this.i)) throw new XmlError('markup declarations are not accepted', this.i);
      // A start tag.
      const start = this.i;
      if (stack.length >= this.maxDepth) throw new XmlError(`elements nested deeper than ${this.maxDepth}`, start);
      if (++this.elements > this.maxElements) throw new XmlError(`more than ${this.maxElements} elements`, start);
      this.i++;
      const qname = this.name();
      const rawAttributes: OpenElement['rawAttributes'] = [];
      for (;;) {
        const hadWs = this.skipWs();
        if (s[this.i] === '>' || s.startsWith('/>', this.i)) break;
        if (this.i >= s.length) throw new XmlError(`unterminated start tag <${qname}>`, start);
        if (!hadWs) throw new XmlError('expected whitespace before an attribute', this.i);
        const at = this.i;
        const aname = this.name();
        this.skipWs();
        if (s[this.i] !== '=') throw new XmlError(`attribute ${aname} has no value`, this.i);
        this.i++;
        this.skipWs();
        const q = s[this.i];
        if (q !== '"' && q !== "'") throw new XmlError(`attribute ${aname} value is not quoted`, this.i);
        const end = s.indexOf(q, this.i + 1);
        if (end < 0) throw new XmlError(`unterminated value of attribute ${aname}`, this.i);
        const rawValue = s.slice(this.i + 1, end);
        const lt = rawValue.indexOf('<');
        if (lt >= 0) throw new XmlError(`"<" inside the value of attribute ${aname}`, this.i + 1 + lt);
        if (rawAttributes.some((a) => a.qname === aname)) throw new XmlError(`duplicate attribute ${aname}`, at);
        if (rawAttributes.length >= this.maxAttributes) throw new XmlError(`more than ${this.maxAttributes} attributes`, at);
        // Attribute-value normalization (XML 1.0 §3.3.3): literal whitespace becomes a space.
        rawAttributes.push({ qname: aname, value: this.decode(rawValue.replace(/[\t\n\r]/g, ' '), this.i + 1), at });
        this.i = end + 1;
      }
      const namespaces = new Map(scope);
      for (const a of rawAttributes) {
        if (a.qname === 'xmlns') {
          if (a.value === XML_NS || a.value === XMLNS_NS) throw new XmlError('reserved namespace bound as default', a.at);
          if (a.value === '') namespaces.delete('');
          else namespaces.set('', a.value);
        } else if (a.qname.startsWith('xmlns:')) {
          const p = a.qname.slice(6);
          if (p === 'xmlns' || (p === 'xml' && a.value !== XML_NS)) throw new XmlError(`prefix ${p} cannot be declared`, a.at);
          if (a.value === '') throw new XmlError(`prefix ${p} bound to the empty namespace`, a.at);
          namespaces.set(p, a.value);
        }
      }
      const open: OpenElement = { qname, start, rawAttributes, children: [], text: [], namespaces };
      if (s.startsWith('/>', this.i)) {
        this.i += 2;
        const done = this.finish(open, this.i);
        if (stack.length) stack.at(-1)!.children.push(done);
        else result = done;
      } else {
        this.i++;
        stack.push(open);
        scope = namespaces;
      }
    }
  }

  private characterData(open: OpenElement): void {
    const s = this.s;
    const lt = s.indexOf('<', this.i);
    const end = lt < 0 ? s.length : lt;
    const raw = s.slice(this.i, end);
    const cdEnd = raw.indexOf(']]>');
    if (cdEnd >= 0) throw new XmlError('"]]>" in character data', this.i + cdEnd);
    open.text.push(this.decode(raw, this.i));
    this.i = end;
  }

  private finish(open: OpenElement, end: number): XmlElement {
    const ns = open.namespaces;
    const split = (qname: string, at: number, isAttribute: boolean): { prefix: string; local: string; namespace: string | undefined } => {
      const colon = qname.indexOf(':');
      if (colon < 0) return { prefix: '', local: qname, namespace: isAttribute ? undefined : ns.get('') };
      const prefix = qname.slice(0, colon);
      const local = qname.slice(colon + 1);
      if (!prefix || !local || local.includes(':')) throw new XmlError(`malformed qualified name ${qname}`, at);
      if (prefix === 'xmlns') return { prefix, local, namespace: XMLNS_NS };
      const uri = ns.get(prefix);
      if (uri === undefined) throw new XmlError(`namespace prefix ${prefix} is not declared`, at);
      return { prefix, local, namespace: uri };
    };
    const name = split(open.qname, open.start + 1, false);
    const attributes: XmlAttribute[] = [];
    const seen = new Set<string>();
    for (const a of open.rawAttributes) {
      if (a.qname === 'xmlns') continue;
      const n = split(a.qname, a.at, true);
      if (n.namespace === XMLNS_NS) continue;
      const key = `${n.namespace ?? ''}\u0000${n.local}`;
      if (seen.has(key)) throw new XmlError(`attribute ${a.qname} appears twice (same namespace)`, a.at);
      seen.add(key);
      attributes.push({ qname: a.qname, ...n, value: a.value });
    }
    return {
      qname: open.qname,
      ...name,
      attributes,
      children: open.children,
      text: open.text.join(''),
      start: open.start,
      end,
      namespaces: ns,
    };
  }

  /** Decodes the predefined entities and character references. */
  private decode(raw: string, at: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;&]{0,12});?/g, (m, body: string, off: number) => {
      if (!m.endsWith(';')) throw new XmlError('"&" not starting an entity reference', at + off);
      switch (body) {
        case 'lt':
          return '<';
        case 'gt':
          return '>';
        case 'amp':
          return '&';
        case 'quot':
          return '"';
        case 'apos':
          return "'";
      }
      const num = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
      if (!num) throw new XmlError(`unknown entity &${body};`, at + off);
      const cp = num[1] !== undefined ? parseInt(num[1], 16) : parseInt(num[2]!, 10);
      const ok =
        cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
      if (!ok) throw new XmlError(`character reference &${body}; names a character XML forbids`, at + off);
      return String.fromCodePoint(cp);
    });
  }
}

/** Escapes text for element content or a double-quoted attribute value. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => {
    switch (c) {
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '&':
        return '&amp;';
      case '"':
        return '&quot;';
      default:
        return '&apos;';
    }
  });
}
