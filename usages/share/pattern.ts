/**
 * Variable Resource Name patterns (RFC 8076 §5.1, §5.3): a POSIX Extended Regular Expression
 * (IEEE Std 1003.1 §9.4) in which `$USER` and `$DOMAIN` stand for the parts of the signer's
 * certificate user name before and after the `@`, e.g. `.*-conf-$USER@$DOMAIN`.
 *
 * The ERE is translated to a JavaScript RegExp (flags `su`: `.` matches any character,
 * including a newline, as POSIX `.` does without REG_NEWLINE). Only ERE syntax is accepted;
 * anything the ERE grammar leaves undefined or that JavaScript would read differently
 * (backslash classes such as `\d`, a quantifier with nothing to repeat, stacked quantifiers,
 * `(?`, collating elements `[.x.]` and equivalence classes `[=x=]`) makes the pattern
 * invalid, and an invalid pattern is ignored (RFC 8076 §5.3: the allowed name then falls back
 * to the user name). Character classes `[:alpha:]` etc. are those of the POSIX locale.
 *
 * Decisions (RFC 8076 §5 does not say):
 * - The match is over the whole Resource Name (as if the pattern were `^(pattern)$`):
 *   an unanchored match would let `$USER@$DOMAIN` accept any name merely containing the
 *   user name, the very STEVE/EVE confusion §5.1 warns about. (UNCONFIRMED in the digest.)
 *   For the boolean "does the whole string match", POSIX leftmost-longest and JavaScript
 *   backtracking agree, since EREs have no back-references.
 * - The user name is split at its last `@` (a domain holds no `@`); a user name without `@`
 *   matches no pattern. `$USER`/`$DOMAIN` are substituted as literal text, never as
 *   regular-expression syntax.
 * - Both variables must occur outside bracket expressions (RFC 8076 §5.3 "MUST").
 */

export class SharePatternError extends Error {
  readonly code = 'ERR_SHARE_PATTERN';
  constructor(
    readonly pattern: string,
    readonly at: number,
    detail: string,
  ) {
    super(`variable-resource-names pattern ${JSON.stringify(pattern)}: ${detail} (at ${at})`);
    this.name = 'SharePatternError';
  }
}

type Part = string | { variable: 'USER' | 'DOMAIN' };

/** Escapes text as a literal in a `u`-mode RegExp. */
function literal(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Escapes one character inside a `u`-mode character class. */
function classChar(c: string): string {
  return /[\\\]\[^\-]/.test(c) ? `\\${c}` : c;
}

/** POSIX-locale character classes (RFC 8076 patterns are ASCII in practice). */
const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: '0-9a-zA-Z',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f',
  xdigit: '0-9A-Fa-f',
};

const RE_DUP_MAX = 255;

/** Translates an ERE into RegExp source parts with the two variables left open. */
function translate(pattern: string): Part[] {
  const parts: Part[] = [];
  let out = '';
  const flush = (): void => {
    if (out) parts.push(out);
    out = '';
  };
  const fail = (at: number, detail: string): never => {
    throw new SharePatternError(pattern, at, detail);
  };
  let depth = 0;
  // Whether the previous element can take a quantifier (an atom, not an anchor/|/( or a quantifier).
  let quantifiable = false;
  let seenUser = false;
  let seenDomain = false;
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '$') {
      const rest = chars.slice(i + 1, i + 7).join('');
      if (rest.startsWith('USER')) {
        flush();
        parts.push({ variable: 'USER' });
        seenUser = true;
        i += 4;
        quantifiable = false; // a quantifier after a variable is refused (it would repeat only its last char)
        continue;
      }
      if (rest.startsWith('DOMAIN')) {
        flush();
        parts.push({ variable: 'DOMAIN' });
        seenDomain = true;
        i += 6;
        quantifiable = false;
        continue;
      }
      out += '$';
      quantifiable = false;
      continue;
    }
    switch (c) {
      case '^':
        out += '^';
        quantifiable = false;
        break;
      case '.':
        out += '.';
        quantifiable = true;
        break;
      case '(':
        if (chars[i + 1] === '?') fail(i, '"(?" is not ERE syntax');
        out += '(?:';
        depth++;
        quantifiable = false;
        break;
      case ')':
        if (depth === 0) fail(i, 'unbalanced ")"');
        if (chars[i - 1] === '(') fail(i, 'empty group');
        out += ')';
        depth--;
        quantifiable = true;
        break;
      case '|':
        out += '|';
        quantifiable = false;
        break;
      case '*':
      case '+':
      case '?':
        if (!quantifiable) fail(i, `"${c}" has nothing to repeat`);
        out += c;
        quantifiable = false;
        break;
      case '{': {
        if (!quantifiable) fail(i, '"{" has nothing to repeat');
        const close = chars.indexOf('}', i);
        if (close < 0) fail(i, 'unterminated interval');
        const body = chars.slice(i + 1, close).join('');
        const m = /^([0-9]{1,3})(,([0-9]{1,3})?)?$/.exec(body);
        if (!m) fail(i, `bad interval {${body}}`);
        const lo = Number(m![1]);
        const hi = m![3] !== undefined ? Number(m![3]) : undefined;
        if (lo > RE_DUP_MAX || (hi !== undefined && (hi > RE_DUP_MAX || hi < lo))) fail(i, `bad interval {${body}}`);
        out += `{${body}}`;
        i = close;
        quantifiable = false;
        break;
      }
      case '}':
        fail(i, 'unbalanced "}"');
        break;
      case '[': {
        const { source, end } = bracket(chars, i, fail);
        out += source;
        i = end;
        quantifiable = true;
        break;
      }
      case '\\': {
        const next = chars[i + 1];
        if (next === undefined) fail(i, 'trailing backslash');
        // ERE defines "\" only before a special character, which it makes literal.
        if (!'^.[]$()|*+?{}\\'.includes(next!)) fail(i, `"\\${next}" is not defined in an ERE`);
        out += literal(next!);
        i++;
        quantifiable = true;
        break;
      }
      default:
        out += literal(c);
        quantifiable = true;
    }
  }
  if (depth !== 0) fail(chars.length, 'unbalanced "("');
  if (!seenUser || !seenDomain) fail(0, 'a pattern must contain both $USER and $DOMAIN (RFC 8076 §5.3)');
  flush();
  return parts;
}

/** A bracket expression `[...]` starting at chars[start]; returns its JS class and last index. */
function bracket(chars: string[], start: number, fail: (at: number, detail: string) => never): { source: string; end: number } {
  let i = start + 1;
  let negate = false;
  if (chars[i] === '^') {
    negate = true;
    i++;
  }
  const items: string[] = [];
  let first = true;
  for (;;) {
    const c = chars[i];
    if (c === undefined) fail(start, 'unterminated bracket expression');
    if (c === ']' && !first) break;
    first = false;
    if (c === '[' && (chars[i + 1] === ':' || chars[i + 1] === '.' || chars[i + 1] === '=')) {
      const kind = chars[i + 1]!;
      let j = i + 2;
      while (j + 1 < chars.length && !(chars[j] === kind && chars[j + 1] === ']')) j++;
      if (j + 1 >= chars.length) fail(i, `unterminated [${kind}`);
      const name = chars.slice(i + 2, j).join('');
      if (kind !== ':') fail(i, `[${kind}${name}${kind}] is not supported`);
      const cls = POSIX_CLASSES[name];
      if (!cls) fail(i, `unknown character class [:${name}:]`);
      items.push(cls!);
      i = j + 2;
      continue;
    }
    // A range a-b (a "-" first or last is literal).
    if (chars[i + 1] === '-' && chars[i + 2] !== undefined && chars[i + 2] !== ']') {
      const hi = chars[i + 2]!;
      if (hi === '[') fail(i, 'a range ending in a class or collating element is not supported');
      if (c.codePointAt(0)! > hi.codePointAt(0)!) fail(i, `range ${c}-${hi} is out of order`);
      items.push(`${classChar(c)}-${classChar(hi)}`);
      i += 3;
      continue;
    }
    // Inside brackets a backslash is an ordinary character (POSIX).
    items.push(classChar(c));
    i++;
  }
  return { source: `[${negate ? '^' : ''}${items.join('')}]`, end: i };
}

/** A compiled variable-resource-names pattern. */
export class SharePattern {
  private readonly parts: Part[];
  private readonly cache = new Map<string, RegExp>();

  /** Throws {@link SharePatternError} when `source` is not a usable ERE with both variables. */
  constructor(readonly source: string) {
    this.parts = translate(source);
    // Compile once with placeholder text, so a pattern JavaScript refuses is refused here.
    this.regexFor('u', 'd');
  }

  /** Whether `resourceName` is, as a whole, a name this pattern gives user `user@domain`. */
  matches(userName: string, resourceName: string): boolean {
    const at = userName.lastIndexOf('@');
    if (at < 0) return false;
    return this.regexFor(userName.slice(0, at), userName.slice(at + 1)).test(resourceName);
  }

  private regexFor(user: string, domain: string): RegExp {
    const key = `${user}\u0000${domain}`;
    let re = this.cache.get(key);
    if (re) return re;
    const src = this.parts.map((p) => (typeof p === 'string' ? p : literal(p.variable === 'USER' ? user : domain))).join('');
    try {
      re = new RegExp(`^(?:${src})$`, 'su');
    } catch (err) {
      throw new SharePatternError(this.source, 0, `not a valid regular expression: ${(err as Error).message}`);
    }
    if (this.cache.size >= 64) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, re);
    return re;
  }
}

const compiled = new Map<string, SharePattern | null>();

/** The compiled pattern, or undefined when it is invalid (then it is ignored, RFC 8076 §5.3). */
export function compileSharePattern(source: string): SharePattern | undefined {
  let p = compiled.get(source);
  if (p === undefined) {
    try {
      p = new SharePattern(source);
    } catch (err) {
      if (!(err instanceof SharePatternError)) throw err;
      p = null;
    }
    if (compiled.size >= 256) compiled.delete(compiled.keys().next().value!);
    compiled.set(source, p);
  }
  return p ?? undefined;
}
