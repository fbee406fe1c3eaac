import t from 'tap';
import { SharePattern, SharePatternError, compileSharePattern } from '../../../usages/share/pattern.js';

t.test('the RFC 8076 §5.1 example: .*-conf-$USER@$DOMAIN', async (t) => {
  const p = new SharePattern('.*-conf-$USER@$DOMAIN');
  t.ok(p.matches('alice@example.org', 'teamcall-conf-alice@example.org'));
  t.ok(p.matches('alice@example.org', '-conf-alice@example.org'), '.* may be empty');
  t.notOk(p.matches('alice@example.org', 'teamcall-conf-bob@example.org'), 'another user');
  t.notOk(p.matches('alice@example.org', 'teamcall-conf-alice@example.com'), 'another domain');
  t.notOk(p.matches('alice@example.org', 'teamcall-conf-alice@example.org.evil'), 'the whole name must match (anchored at the end)');
  t.notOk(p.matches('alice@example.org', 'teamcall-meet-alice@example.org'), 'the fixed delimiter is required');
  t.notOk(p.matches('alice@example.org', 'alice@example.org'), 'the bare user name is not of this form');
  t.notOk(p.matches('alice', 'x-conf-alice@'), 'a user name without @ matches nothing');
  t.ok(p.matches('a@b@example.org', 'x-conf-a@b@example.org'), 'the user name is split at its last @');
});

t.test('$USER and $DOMAIN are literal text, never regex syntax', async (t) => {
  const p = new SharePattern('room-$USER@$DOMAIN');
  t.ok(p.matches('a.b@ex.org', 'room-a.b@ex.org'));
  t.notOk(p.matches('a.b@ex.org', 'room-aXb@ex.org'), '"." in the user name is not a wildcard');
  t.notOk(p.matches('a.b@ex.org', 'room-a.b@exXorg'), '"." in the domain is not a wildcard');
  t.ok(p.matches('a+b*(c)@ex.org', 'room-a+b*(c)@ex.org'), 'regex metacharacters in user names match themselves');
  t.notOk(p.matches('a+b@ex.org', 'room-aab@ex.org'));
});

t.test('the STEVE/EVE pitfall of §5.1: only a delimiter keeps user names apart', async (t) => {
  const loose = new SharePattern('.*$USER@$DOMAIN');
  t.ok(loose.matches('eve@example.org', 'steve@example.org'), 'a loose pattern lets eve claim steve’s name');
  const strict = new SharePattern('.*-conf-$USER@$DOMAIN');
  t.notOk(strict.matches('eve@example.org', 'x-conf-steve@example.org'), 'with -conf- she cannot');
  t.ok(strict.matches('steve@example.org', 'x-conf-steve@example.org'));
});

t.test('POSIX ERE syntax: brackets, classes, intervals, alternation, escapes', async (t) => {
  const p = new SharePattern('[[:alpha:]][[:digit:]]{2,3}(-[a-z]+|_x)?-$USER@$DOMAIN');
  t.ok(p.matches('u@d.org', 'a12-room-u@d.org'));
  t.ok(p.matches('u@d.org', 'Z999_x-u@d.org'));
  t.ok(p.matches('u@d.org', 'b00-u@d.org'));
  t.notOk(p.matches('u@d.org', 'ab1-u@d.org'), 'a digit is needed');
  t.notOk(p.matches('u@d.org', 'a1234-u@d.org'), 'at most three digits');
  const q = new SharePattern('[]a-]\\.x[^[:space:]]$USER@$DOMAIN');
  t.ok(q.matches('u@d', '].x-u@d'), '"]" first in a bracket is literal, "\\." is a literal dot');
  t.ok(q.matches('u@d', '-.xzu@d'), '"-" last in a bracket is literal');
  t.notOk(q.matches('u@d', 'a.x u@d'), '[^[:space:]] refuses a space');
  const b = new SharePattern('[\\]+$USER@$DOMAIN');
  t.ok(b.matches('u@d', '\\\\u@d'), 'inside a bracket a backslash is an ordinary character');
  const dot = new SharePattern('.$USER@$DOMAIN');
  t.ok(dot.matches('u@d', '\nu@d'), '"." matches a newline as POSIX "." does');
  t.ok(dot.matches('u@d', '😀u@d'), '"." matches one character, not one UTF-16 unit');
});

t.test('invalid patterns are refused (and ignored by compileSharePattern)', async (t) => {
  const bad = [
    '.*-conf-$USER', // no $DOMAIN
    '$DOMAIN-only', // no $USER
    '\\d+-$USER@$DOMAIN', // \d is not ERE
    '(?=x)$USER@$DOMAIN', // lookahead
    '*$USER@$DOMAIN', // nothing to repeat
    'a**$USER@$DOMAIN', // stacked quantifiers
    '(a$USER@$DOMAIN', // unbalanced
    'a)$USER@$DOMAIN',
    '()$USER@$DOMAIN', // empty group
    '[a$USER@$DOMAIN', // unterminated bracket
    '[[:word:]]$USER@$DOMAIN', // unknown class
    '[[=a=]]$USER@$DOMAIN', // equivalence class
    '[z-a]$USER@$DOMAIN', // reversed range
    'a{3,1}$USER@$DOMAIN', // bad interval
    'a{300}$USER@$DOMAIN', // beyond RE_DUP_MAX
    'a{x}$USER@$DOMAIN',
    'a}$USER@$DOMAIN',
    '$USER*@$DOMAIN', // quantifier on a variable
    '$USER@$DOMAIN\\', // trailing backslash
  ];
  for (const src of bad) {
    t.throws(() => new SharePattern(src), SharePatternError, src);
    t.equal(compileSharePattern(src), undefined, `${src} is ignored`);
  }
  const ok = compileSharePattern('.*-conf-$USER@$DOMAIN');
  t.ok(ok instanceof SharePattern);
  t.equal(compileSharePattern('.*-conf-$USER@$DOMAIN'), ok, 'compiled once');
});
