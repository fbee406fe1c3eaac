/**
 * Domain restrictions of SIP-REGISTRATION (RFC 7904 §3.4): absent → every domain; enable
 * false → the overlay's own; enable true → the POSIX ERE patterns, matched against the
 * whole domain, case-insensitively.
 */
import t from 'tap';
import { DomainPatternError, DomainPolicy, aorDomain, compileDomainPattern } from '../../../usages/sip/index.js';

t.test('no restriction: every domain', async (t) => {
  const p = new DomainPolicy(undefined, 'dht.example.com');
  t.ok(p.allowsAor('alice@dht.example.com'));
  t.ok(p.allowsAor('sip:bob@anything.example.org'));
});

t.test('enable="false": only the overlay’s domain', async (t) => {
  const p = new DomainPolicy({ enable: false, patterns: [] }, 'dht.example.com');
  t.ok(p.allowsAor('alice@dht.example.com'));
  t.ok(p.allowsAor('alice@DHT.Example.COM'), 'case-insensitive');
  t.notOk(p.allowsAor('alice@example.com'));
  t.notOk(p.allowsAor('alice@sub.dht.example.com'));
});

t.test('the RFC’s patterns: dht\\.example\\.com and .*\\.my\\.example', async (t) => {
  const p = new DomainPolicy({ enable: true, patterns: ['dht\\.example\\.com', '.*\\.my\\.example'] }, 'overlay.example');
  t.ok(p.allowsAor('alice@dht.example.com'));
  t.ok(p.allowsAor('alice@home.my.example'));
  t.ok(p.allowsAor('alice@a.b.my.example'));
  t.notOk(p.allowsAor('alice@my.example'), '.*\\. needs a dot before my');
  t.notOk(p.allowsAor('alice@overlay.example'), 'with patterns, the overlay name is not implied');
  t.notOk(p.allowsAor('alice@evil-dht.example.com'), 'anchored at the start');
  t.notOk(p.allowsAor('alice@dht.example.com.attacker.example'), 'anchored at the end');
  t.notOk(p.allowsAor('alice@dhtxexample.com'), '\\. is a literal dot');
});

t.test('ERE features', async (t) => {
  t.ok(compileDomainPattern('[[:alpha:]]+\\.example').test('abc.example'));
  t.notOk(compileDomainPattern('[[:alpha:]]+\\.example').test('a1.example'));
  t.ok(compileDomainPattern('(a|b){2,3}\\.example').test('aba.example'));
  t.notOk(compileDomainPattern('(a|b){2,3}\\.example').test('abab.example'));
  t.ok(compileDomainPattern('[^.]+\\.example').test('x-y.example'));
  t.ok(compileDomainPattern('x[.]y').test('x.y'), 'a dot in brackets is literal');
  t.ok(compileDomainPattern('a\\]b').test('a]b'));
});

t.test('invalid patterns are refused (and ignored by the policy)', async (t) => {
  for (const bad of ['\\d+\\.example', '(?i)example', '[[.a.]]', 'a{3,1}', 'a{x}', '[abc', '(ab', 'é\\.example', '*a']) {
    t.throws(() => compileDomainPattern(bad), DomainPatternError, `${bad} refused`);
  }
  const p = new DomainPolicy({ enable: true, patterns: ['\\w+', 'ok\\.example'] }, 'o');
  t.equal(p.invalid.length, 1);
  t.ok(p.allowsAor('x@ok.example'));
  t.notOk(p.allowsAor('x@w.example'));
});

t.test('aorDomain', async (t) => {
  t.equal(aorDomain('alice@example.com'), 'example.com');
  t.equal(aorDomain('sip:a@b@example.com'), 'example.com');
  t.equal(aorDomain('example.com'), 'example.com');
});
