/**
 * multipart/form-data (RFC 7578 over RFC 2046 §5.1) for the enrollment request (RFC 6940
 * §11.3): a strict parser for untrusted bodies and the matching builder for the client.
 *
 * The parser works on a complete, size-limited body (the server caps it before parsing),
 * never copies part data (parts are views of the body), and refuses with MultipartError:
 * a missing or malformed boundary, a body that does not end with the close delimiter,
 * folded or malformed part headers, duplicate headers, a part without a form-data
 * Content-Disposition name, transfer encodings other than identity, and more parts or
 * header bytes than the limits allow.
 */
import { randomBytes } from 'node:crypto';

export class MultipartError extends Error {
  readonly code = 'ERR_RELOAD_MULTIPART';
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

export interface MultipartPart {
  /** The form field name (Content-Disposition name). */
  name: string;
  filename: string | undefined;
  /** Content-Type of the part, lower-cased media type without parameters; undefined if absent. */
  contentType: string | undefined;
  /** Part headers, names lower-cased. */
  headers: Readonly<Record<string, string>>;
  /** The part body (a view of the request body). */
  data: Buffer;
}

export interface MultipartLimits {
  /** Most parts accepted (default 16). */
  maxParts?: number;
  /** Most bytes in one part's header block (default 4096). */
  maxHeaderBytes?: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 2046 §5.1.1 bchars; the boundary is 1..70 of them and must not end in a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** Media type and parameters of a Content-Type (or Content-Disposition) value. */
export function parseHeaderParameters(value: string): { value: string; params: Record<string, string> } {
  const semi = value.indexOf(';');
  const head = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const params: Record<string, string> = Object.create(null);
  let rest = semi < 0 ? '' : value.slice(semi);
  const param = /^\s*;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\\r\n]|\\[^\r\n])*)"|([^;\s"]+))\s*/;
  while (rest.trim() !== '') {
    const m = param.exec(rest);
    if (!m) throw new MultipartError(`malformed header parameters: ${JSON.stringify(rest.slice(0, 60))}`);
    const name = m[1]!.toLowerCase();
    if (name in params) throw new MultipartError(`parameter ${name} appears twice`);
    params[name] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
    rest = rest.slice(m[0].length);
  }
  return { value: head, params };
}

/** The lower-cased media type of a Content-Type header, or undefined when absent or malformed. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  try {
    return parseHeaderParameters(contentType).value;
  } catch {
    return undefined;
  }
}

/** The boundary of a multipart/form-data Content-Type header. */
export function boundaryOf(contentType: string | undefined): string {
  if (!contentType) throw new MultipartError('no Content-Type');
  const { value, params } = parseHeaderParameters(contentType);
  if (value !== 'multipart/form-data') throw new MultipartError(`Content-Type is ${value}, not multipart/form-data`);
  const b = params.boundary;
  if (b === undefined) throw new MultipartError('multipart/form-data without a boundary');
  if (!BOUNDARY.test(b)) throw new MultipartError('malformed multipart boundary');
  return b;
}

const CRLF = Buffer.from('\r\n');

/** Parses a complete multipart/form-data body. */
export function parseMultipart(body: Buffer, boundary: string, limits: MultipartLimits = {}): MultipartPart[] {
  if (!BOUNDARY.test(boundary)) throw new MultipartError('malformed multipart boundary');
  const maxParts = limits.maxParts ?? 16;
  const maxHeaderBytes = limits.maxHeaderBytes ?? 4096;
  const dashBoundary = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);

  // The first boundary is at the very start, or after a preamble and CRLF.
  let pos: number;
  if (body.subarray(0, dashBoundary.length).equals(dashBoundary)) pos = dashBoundary.length;
  else {
    const at = findDelimiter(body, delimiter, 0);
    if (at < 0) throw new MultipartError('multipart body holds no boundary');
    pos = at + delimiter.length;
  }
  const parts: MultipartPart[] = [];
  for (;;) {
    // After a boundary: "--" closes the body; otherwise transport padding, then CRLF.
    if (isClose(body, pos)) return parts;
    pos = afterPadding(body, pos);
    if (pos < 0) throw new MultipartError('boundary not followed by CRLF');
    if (parts.length >= maxParts) throw new MultipartError(`more than ${maxParts} parts`);
    // Headers end at the first empty line (a part may have none: CRLF right away).
    let headerEnd: number;
    let dataStart: number;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) {
      headerEnd = pos;
      dataStart = pos + 2;
    } else {
      const blank = body.indexOf('\r\n\r\n', pos, 'latin1');
      if (blank < 0 || blank - pos > maxHeaderBytes) {
        throw new MultipartError(blank < 0 ? 'part headers do not end' : `part headers exceed ${maxHeaderBytes} bytes`);
      }
      headerEnd = blank;
      dataStart = blank + 4;
    }
    if (headerEnd - pos > maxHeaderBytes) throw new MultipartError(`part headers exceed ${maxHeaderBytes} bytes`);
    const headers = parsePartHeaders(body.subarray(pos, headerEnd));
    const next = findDelimiter(body, delimiter, dataStart);
    if (next < 0) throw new MultipartError('multipart body is not closed by its boundary');
    parts.push(makePart(headers, body.subarray(dataStart, next)));
    pos = next + delimiter.length;
  }
}

/**
 * The next delimiter at or after `from`: CRLF--boundary followed by "--" or by optional
 * padding and CRLF. The same bytes followed by anything else are part data.
 */
function findDelimiter(body: Buffer, delimiter: Buffer, from: number): number {
  let at = body.indexOf(delimiter, from);
  while (at >= 0) {
    const after = at + delimiter.length;
    if (isClose(body, after) || afterPadding(body, after) >= 0) return at;
    at = body.indexOf(delimiter, at + 1);
  }
  return -1;
}

/** Whether a close delimiter's "--" is at `pos`: then padding and CRLF (the epilogue follows) or the end. */
function isClose(body: Buffer, pos: number): boolean {
  if (body[pos] !== 0x2d || body[pos + 1] !== 0x2d) return false;
  let p = pos + 2;
  while (body[p] === 0x20 || body[p] === 0x09) p++;
  return p === body.length || (body[p] === 0x0d && body[p + 1] === 0x0a);
}

/** Skips spaces/tabs then a CRLF; returns the position after it, or -1. */
function afterPadding(body: Buffer, pos: number): number {
  let p = pos;
  while (body[p] === 0x20 || body[p] === 0x09) p++;
  return body[p] === 0x0d && body[p + 1] === 0x0a ? p + 2 : -1;
}

function parsePartHeaders(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  if (block.length === 0) return headers;
  // Header bytes must be visible ASCII, spaces or tabs (no NUL, no bare CR or LF).
  for (const b of block) {
    if (b !== 0x0d && b !== 0x0a && b !== 0x09 && (b < 0x20 || b > 0x7e)) throw new MultipartError('part header holds a control or non-ASCII byte');
  }
  for (const line of block.toString('latin1').split('\r\n')) {
    if (/[\r\n]/.test(line)) throw new MultipartError('bare CR or LF in part headers');
    if (line[0] === ' ' || line[0] === '\t') throw new MultipartError('folded part header lines are not accepted');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`malformed part header ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name)) throw new MultipartError(`malformed part header name ${JSON.stringify(name.slice(0, 60))}`);
    if (name in headers) throw new MultipartError(`part header ${name} appears twice`);
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

function makePart(headers: Record<string, string>, data: Buffer): MultipartPart {
  const cd = headers['content-disposition'];
  if (cd === undefined) throw new MultipartError('part without Content-Disposition');
  const disposition = parseHeaderParameters(cd);
  if (disposition.value !== 'form-data') throw new MultipartError(`part disposition is ${disposition.value}, not form-data`);
  const name = disposition.params.name;
  if (name === undefined || name === '') throw new MultipartError('form-data part without a name');
  const cte = headers['content-transfer-encoding']?.toLowerCase();
  // RFC 7578 §4.7: senders must not use transfer encodings; identity ones are harmless.
  if (cte !== undefined && cte !== 'binary' && cte !== '8bit' && cte !== '7bit') {
    throw new MultipartError(`Content-Transfer-Encoding ${cte} is not accepted`);
  }
  const ct = headers['content-type'];
  return {
    name,
    filename: disposition.params.filename,
    contentType: ct === undefined ? undefined : parseHeaderParameters(ct).value,
    headers,
    data,
  };
}

export interface FormField {
  name: string;
  data: string | Uint8Array;
  contentType?: string;
  filename?: string;
}

/** Builds a multipart/form-data body; returns it with its Content-Type header value. */
export function buildMultipart(fields: readonly FormField[], boundary?: string): { body: Buffer; contentType: string } {
  const datas = fields.map((f) => (typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : Buffer.from(f.data)));
  let b = boundary ?? `reload-node-${randomBytes(16).toString('hex')}`;
  if (!BOUNDARY.test(b)) throw new MultipartError('malformed multipart boundary');
  // A boundary must not occur in any part (RFC 2046 §5.1.1); pick another if it does.
  while (boundary === undefined && datas.some((d) => d.includes(b))) b = `reload-node-${randomBytes(16).toString('hex')}`;
  const chunks: Buffer[] = [];
  fields.forEach((f, i) => {
    for (const v of [f.name, f.filename ?? '', f.contentType ?? '']) {
      if (/["\\\r\n]/.test(v)) throw new MultipartError(`form field ${JSON.stringify(f.name)}: quotes, backslashes and line breaks are not allowed in names`);
    }
    let head = `--${b}\r\nContent-Disposition: form-data; name="${f.name}"`;
    if (f.filename !== undefined) head += `; filename="${f.filename}"`;
    head += '\r\n';
    if (f.contentType) head += `Content-Type: ${f.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'latin1'), datas[i]!, CRLF);
  });
  chunks.push(Buffer.from(`--${b}--\r\n`, 'latin1'));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${b}` };
}
