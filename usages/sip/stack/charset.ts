/**
 * Character classes of the SIP grammar (RFC 3261 §25.1) and the two text encodings the
 * parser needs: %HH escaping in URIs and quoted-string / quoted-pair in header values.
 *
 * Escaped octets are decoded into a JavaScript string as UTF-8; an octet that is not part
 * of well-formed UTF-8 becomes the lone surrogate U+DC80..U+DCFF ("surrogateescape"), so a
 * URI holding arbitrary escaped octets (legal in a user part) decodes and re-encodes
 * without loss.
 */
import { SipParseError } from './errors.js';

function classOf(chars: string, alnum = true): Uint8Array {
  const t = new Uint8Array(128);
  if (alnum) {
    for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  }
  for (const ch of chars) t[ch.charCodeAt(0)] = 1;
  return t;
}

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
const TOKEN = classOf("-.!%*_+`'~");
/** word adds ( ) < > : \ DQUOTE / [ ] ? { } (RFC 3261 §25.1, used by Call-ID). */
const WORD = classOf('-.!%*_+`\'~()<>:\\"/[]?{}');
/** unreserved = alphanum / mark */
const UNRESERVED = classOf("-_.!~*'()");
/** user = 1*( unreserved / escaped / user-unreserved ) */
const USER = classOf("-_.!~*'()&=+$,;?/");
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
const PASSWORD = classOf("-_.!~*'()&=+$,");
/** paramchar = param-unreserved / unreserved / escaped */
const PARAMCHAR = classOf("-_.!~*'()[]/:&+$");
/** hname / hvalue = 1*( hnv-unreserved / unreserved / escaped ) */
const HNVCHAR = classOf("-_.!~*'()[]/?:+$");
/** uric of RFC 2396 (absoluteURI of other schemes): reserved / unreserved / escaped */
const URIC = classOf(";/?:@&=+$,-_.!~*'()[]#");
/** tel URI characters (RFC 3966): digits, hex for local numbers, visual separators, * # + */
const TEL_NUMBER = classOf('-.()*#+');

const inClass = (t: Uint8Array, c: number): boolean => c < 128 && t[c] === 1;

export const isTokenChar = (c: number): boolean => inClass(TOKEN, c);
export const isWordChar = (c: number): boolean => inClass(WORD, c);
export const isUnreserved = (c: number): boolean => inClass(UNRESERVED, c);

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!inClass(TOKEN, s.charCodeAt(i))) return false;
  return true;
}

export function isWord(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!inClass(WORD, s.charCodeAt(i))) return false;
  return true;
}

/** Which component an escaped string belongs to; selects the characters left unescaped. */
export type UriComponent = 'user' | 'password' | 'param' | 'header' | 'uric' | 'tel';
const COMPONENT_CLASS: Record<UriComponent, Uint8Array> = {
  user: USER,
  password: PASSWORD,
  param: PARAMCHAR,
  header: HNVCHAR,
  uric: URIC,
  tel: TEL_NUMBER,
};

const isHex = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
const hexVal = (c: number): number => (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10);

/**
 * Checks that `s` holds only the component's characters and valid %HH escapes, and returns
 * the decoded text. Throws SipParseError('BAD_URI') otherwise.
 */
export function unescapeComponent(s: string, component: UriComponent, what: string): string {
  const cls = COMPONENT_CLASS[component];
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const h1 = s.charCodeAt(i + 1);
      const h2 = s.charCodeAt(i + 2);
      if (!isHex(h1) || !isHex(h2)) throw new SipParseError('BAD_URI', `${what}: "%" not followed by two hex digits`);
      bytes.push(hexVal(h1) * 16 + hexVal(h2));
      i += 2;
    } else if (inClass(cls, c) || (component === 'tel' && isHex(c))) {
      bytes.push(c);
    } else {
      throw new SipParseError('BAD_URI', `${what}: character ${describeChar(c)} not allowed`);
    }
  }
  return decodeUtf8Escaping(bytes);
}

/** Escapes `s` for the component: every octet outside the component's set becomes %HH. */
export function escapeComponent(s: string, component: UriComponent): string {
  const cls = COMPONENT_CLASS[component];
  let out = '';
  for (const b of encodeUtf8Escaping(s)) {
    if (inClass(cls, b) && b !== 0x25) out += String.fromCharCode(b);
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** UTF-8 decode; octets not part of a well-formed sequence map to U+DC80 + (octet - 0x80). */
export function decodeUtf8Escaping(bytes: ArrayLike<number>): string {
  let out = '';
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      i++;
      continue;
    }
    let len = 0;
    let cp = 0;
    let min = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) [len, cp, min] = [2, b0 & 0x1f, 0x80];
    else if (b0 >= 0xe0 && b0 <= 0xef) [len, cp, min] = [3, b0 & 0x0f, 0x800];
    else if (b0 >= 0xf0 && b0 <= 0xf4) [len, cp, min] = [4, b0 & 0x07, 0x10000];
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const b = bytes[i + k]!;
      if ((b & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (b & 0x3f);
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += len;
    } else {
      out += String.fromCharCode(0xdc00 + b0);
      i++;
    }
  }
  return out;
}

/** Inverse of {@link decodeUtf8Escaping}. */
export function encodeUtf8Escaping(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff) {
      out.push(c - 0xdc00);
      continue;
    }
    let cp = c;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a lone surrogate that is no escape
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return out;
}

/** A printable description of a character for error messages (never the raw control). */
export function describeChar(c: number): string {
  if (Number.isNaN(c)) return 'end of input';
  if (c >= 0x21 && c <= 0x7e) return `"${String.fromCharCode(c)}"`;
  return `0x${c.toString(16).padStart(2, '0')}`;
}

/** SP or HTAB. */
export const isWsp = (c: number): boolean => c === 0x20 || c === 0x09;

/**
 * Reads a quoted-string starting at `s[start]` (which must be DQUOTE). Returns the
 * unescaped content and the index after the closing quote. qdtext excludes control
 * characters; quoted-pair ("\" followed by any octet but CR and LF) may escape one.
 * (RFC 3261 §25.1.)
 */
export function readQuotedString(s: string, start: number, header: string): { value: string; end: number } {
  let value = '';
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return { value, end: i + 1 };
    if (c === 0x5c) {
      const n = s.charCodeAt(i + 1);
      if (Number.isNaN(n)) break;
      if (n === 0x0d || n === 0x0a) throw new SipParseError('BAD_HEADER_VALUE', 'line break in quoted-pair', header);
      value += s[i + 1];
      i++;
      continue;
    }
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      throw new SipParseError('INVALID_CHARACTER', `control character ${describeChar(c)} in quoted string`, header);
    }
    value += s[i];
  }
  throw new SipParseError('BAD_HEADER_VALUE', 'unterminated quoted string', header);
}

/** Writes `s` as a quoted-string, escaping DQUOTE, "\" and control characters. */
export function quoteString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) {
      out += ' '; // a line break cannot be quoted (quoted-pair excludes CR and LF)
      continue;
    }
    if (c === 0x22 || c === 0x5c || (c < 0x20 && c !== 0x09) || c === 0x7f) out += '\\';
    out += s[i];
  }
  return out + '"';
}

/**
 * Removes SP and HTAB at both ends. (String.prototype.trim would also remove U+FEFF,
 * U+00A0 and other Unicode spaces, which are content in SIP header values.)
 */
export function trimWsp(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWsp(s.charCodeAt(a))) a++;
  while (b > a && isWsp(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
