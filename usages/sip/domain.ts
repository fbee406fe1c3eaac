/**
 * Which AOR domains an overlay serves (RFC 7904 §3.4 "sip:domain-restriction", §3.3, §4.1):
 *
 * - no restriction element: every domain;
 * - `enable` false (or absent): only the overlay's own domain name;
 * - `enable` true: the domains matching one of the `<pattern>`s, POSIX Extended Regular
 *   Expressions over the domain name.
 *
 * Decisions (RFC 7904 does not say):
 * - A pattern must match the whole domain (as if written `^(pattern)$`): an unanchored
 *   `dht\.example\.com` would otherwise admit `evil-dht.example.com.attacker`.
 * - Domain names compare case-insensitively (DNS names, RFC 4343), so matching ignores case.
 * - The ERE is translated to a JavaScript RegExp; syntax that ERE leaves undefined or that
 *   JavaScript reads differently (`\d`-style classes, `(?`, `[.x.]`, `[=x=]`, malformed
 *   `{m,n}`) makes a pattern invalid, and an invalid pattern matches nothing.
 */

/** The restriction as the configuration gives it (src/config SipDomainRestriction). */
export interface DomainRestriction {
  enable: boolean;
  patterns: string[];
}

export class DomainPatternError extends Error {
  readonly code = 'ERR_SIP_DOMAIN_PATTERN';
  constructor(
    readonly pattern: string,
    detail: string,
  ) {
    super(`domain pattern ${JSON.stringify(pattern)}: ${detail}`);
    this.name = 'DomainPatternError';
  }
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: '0-9a-zA-Z',
  upper: 'A-Z',
  lower: 'a-z',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
};

/** Translates a POSIX ERE over a domain name into an anchored, case-insensitive RegExp. */
export function compileDomainPattern(pattern: string): RegExp {
  if (!/^[\x20-\x7e]*$/.test(pattern)) throw new DomainPatternError(pattern, 'only printable ASCII is allowed');
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) throw new DomainPatternError(pattern, 'trailing backslash');
      if (/[A-Za-z0-9]/.test(n)) throw new DomainPatternError(pattern, `\\${n} is not an ERE escape`);
      out += `\\${n}`;
      i += 2;
    } else if (c === '[') {
      const end = bracketEnd(pattern, i);
      out += translateBracket(pattern, pattern.slice(i + 1, end));
      i = end + 1;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (!m) throw new DomainPatternError(pattern, 'malformed interval {m,n}');
      if (m[3] !== undefined && m[3] !== '' && Number(m[3]) < Number(m[1])) throw new DomainPatternError(pattern, 'interval {m,n} with n < m');
      out += m[0];
      i += m[0].length;
    } else if (c === '(' && pattern[i + 1] === '?') {
      throw new DomainPatternError(pattern, '"(?" is not ERE syntax');
    } else if ('.*+?|()^$'.includes(c)) {
      out += c;
      i++;
    } else {
      out += /[\]}/]/.test(c) ? `\\${c}` : c;
      i++;
    }
  }
  try {
    return new RegExp(`^(?:${out})$`, 'i');
  } catch (e) {
    throw new DomainPatternError(pattern, (e as Error).message);
  }
}

function bracketEnd(p: string, start: number): number {
  let j = start + 1;
  if (p[j] === '^') j++;
  if (p[j] === ']') j++;
  while (j < p.length && p[j] !== ']') {
    if (p[j] === '[' && (p[j + 1] === ':' || p[j + 1] === '.' || p[j + 1] === '=')) {
      const close = p.indexOf(`${p[j + 1]}]`, j + 2);
      if (close < 0) throw new DomainPatternError(p, 'unterminated [: :] in a bracket expression');
      j = close + 2;
    } else j++;
  }
  if (j >= p.length) throw new DomainPatternError(p, 'unterminated bracket expression');
  return j;
}

function translateBracket(pattern: string, body: string): string {
  let out = '[';
  let i = 0;
  if (body[0] === '^') {
    out += '^';
    i = 1;
  }
  for (; i < body.length; i++) {
    const c = body[i]!;
    if (c === '[' && body[i + 1] === ':') {
      const close = body.indexOf(':]', i + 2);
      const name = body.slice(i + 2, close);
      const cls = POSIX_CLASSES[name];
      if (!cls) throw new DomainPatternError(pattern, `unknown character class [:${name}:]`);
      out += cls;
      i = close + 1;
    } else if (c === '[' && (body[i + 1] === '.' || body[i + 1] === '=')) {
      throw new DomainPatternError(pattern, 'collating elements and equivalence classes are not supported');
    } else if (c === '-' && i > 0 && i < body.length - 1) {
      out += '-';
    } else {
      // Inside POSIX brackets a backslash is literal.
      out += /[\\\]\[^-]/.test(c) ? `\\${c}` : c;
    }
  }
  return out + ']';
}

/** The domain of an AOR or Resource Name: what follows its last '@' (the whole when there is none). */
export function aorDomain(aor: string): string {
  const rest = aor.replace(/^sips?:/i, '');
  const at = rest.lastIndexOf('@');
  return at < 0 ? rest : rest.slice(at + 1);
}

/** The domains an overlay serves, from its SIP-REGISTRATION Kind's domain restriction. */
export class DomainPolicy {
  private readonly patterns: RegExp[] = [];
  /** Patterns that failed to compile, with the reason (they match nothing). */
  readonly invalid: DomainPatternError[] = [];

  constructor(
    readonly restriction: DomainRestriction | undefined,
    /** The overlay's own domain name (its instance name). */
    readonly overlayDomain: string,
  ) {
    if (restriction?.enable) {
      for (const p of restriction.patterns) {
        try {
          this.patterns.push(compileDomainPattern(p));
        } catch (e) {
          if (!(e instanceof DomainPatternError)) throw e;
          this.invalid.push(e);
        }
      }
    }
  }

  /** Whether an AOR of `domain` belongs to this overlay (RFC 7904 §3.3, §4.1 step 2). */
  allows(domain: string): boolean {
    const r = this.restriction;
    if (!r) return true;
    if (!r.enable) return domain.toLowerCase() === this.overlayDomain.toLowerCase();
    return this.patterns.some((re) => re.test(domain));
  }

  /** Whether the AOR (`user@domain`, with or without scheme) belongs to this overlay. */
  allowsAor(aor: string): boolean {
    return this.allows(aorDomain(aor));
  }
}
