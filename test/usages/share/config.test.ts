/**
 * The ShaRe configuration element (RFC 8076 §5.3) from `reload-node init-overlay
 * --share-pattern` to the Kind definitions a node registers.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { overlayPaths } from '../../../certs/files.js';
import { UsageError } from '../../../src/cli/command.js';
import { applySharePatterns, parseKindSpec } from '../../../src/cli/commands/init-overlay.js';
import { parseOverlayDocument, selectConfiguration } from '../../../src/config/index.js';
import { registerConfiguredKinds } from '../../../src/node/create.js';
import { installUsages } from '../../../src/node/usage.js';
import { silentLogger } from '../../../src/common/log.js';
import { KindRegistrationError, KindRegistry } from '../../../src/storage/kinds.js';
import { PolicyRegistry } from '../../../src/storage/policies.js';
import { shareUsage } from '../../../usages/share/index.js';
import { namesEnabled, patternsOf } from '../../../usages/share/policy.js';
import { loadUsageModule } from '../../../src/cli/usages.js';
import { cli, tempDir } from '../../certs/helpers.js';

t.test('applySharePatterns: KIND:PATTERN onto --kind definitions', async (t) => {
  const kinds = [parseKindSpec('ACCESS-CONTROL-LIST:array:USER-CHAIN-ACL'), parseKindSpec('0xF0000103:dictionary:USER-CHAIN-ACL:8:512'), parseKindSpec('0xF0000001:single:USER-MATCH')];
  applySharePatterns(kinds, ['ACCESS-CONTROL-LIST:.*-conf-$USER@$DOMAIN', '0xF0000103:.*-conf-$USER@$DOMAIN', `${0xf0000103}:[a-z]+-room-$USER@$DOMAIN`]);
  t.same(kinds[0]!.shareVariableResourceNames, { enable: true, patterns: ['.*-conf-$USER@$DOMAIN'] });
  t.same(kinds[1]!.shareVariableResourceNames, { enable: true, patterns: ['.*-conf-$USER@$DOMAIN', '[a-z]+-room-$USER@$DOMAIN'] }, 'by hex or decimal Kind-ID, repeatable');
  t.equal(kinds[2]!.shareVariableResourceNames, undefined);
  const bad: [string, RegExp][] = [
    ['nocolon', /expected KIND:PATTERN/],
    ['ACCESS-CONTROL-LIST:', /expected KIND:PATTERN/],
    ['0xF0000999:x-$USER@$DOMAIN', /not given with --kind/],
    ['0xF0000001:x-$USER@$DOMAIN', /need a USER-CHAIN-ACL kind/],
    ['ACCESS-CONTROL-LIST:.*-conf-$USER', /both \$USER and \$DOMAIN/],
  ];
  for (const [spec, why] of bad) {
    try {
      applySharePatterns(kinds, [spec]);
      t.fail(`${spec} was accepted`);
    } catch (err) {
      t.ok(err instanceof UsageError, `${spec}: a UsageError`);
      t.match((err as Error).message, why);
    }
  }
});

t.test('init-overlay --share-pattern writes share:variable-resource-names that nodes read back', async (t) => {
  const dir = tempDir(t);
  const r = await cli([
    'init-overlay', '--name', 'overlay.example.org', '--dir', dir, '--self-signed',
    '--kind', 'ACCESS-CONTROL-LIST:array:USER-CHAIN-ACL:64:1024',
    '--kind', '0xF0000103:dictionary:USER-CHAIN-ACL:32:512',
    '--share-pattern', 'ACCESS-CONTROL-LIST:.*-conf-$USER@$DOMAIN',
    '--share-pattern', '0xF0000103:.*-conf-$USER@$DOMAIN',
  ]);
  t.equal(r.code, 0, r.err);
  const text = readFileSync(overlayPaths(dir).config, 'utf8');
  t.match(text, 'xmlns:share="urn:ietf:params:xml:ns:p2p:config-base:share"');
  t.match(text, '<share:variable-resource-names enable="true">');
  t.match(text, '<share:pattern>.*-conf-$USER@$DOMAIN</share:pattern>');
  const c = selectConfiguration(parseOverlayDocument(text)).configuration;
  const named = c.requiredKinds.find((k) => k.id === 0xf0000103)!;
  t.same(named.shareVariableResourceNames, { enable: true, patterns: ['.*-conf-$USER@$DOMAIN'] });
  // A node with the ShaRe usage: configured Kinds keep their parameters and limits.
  const policies = new PolicyRegistry();
  const kinds = new KindRegistry({ policies });
  const share = shareUsage();
  installUsages([share], { kinds, policies, phase: 'policies' });
  registerConfiguredKinds(kinds, c, silentLogger);
  installUsages([share], { kinds, policies, phase: 'kinds' });
  const acl = kinds.get(4)!;
  t.same([acl.maxCount, acl.maxSize, namesEnabled(acl), patternsOf(acl).map((p) => p.source)], [64, 1024, true, ['.*-conf-$USER@$DOMAIN']]);
  t.ok(namesEnabled(kinds.get(0xf0000103)) && patternsOf(kinds.get(0xf0000103))[0]!.matches('alice@example.org', 'x-conf-alice@example.org'));
  // Unknown policy without the usage: a configuration naming USER-CHAIN-ACL needs ShaRe loaded.
  const bare = new KindRegistry({ policies: new PolicyRegistry() });
  try {
    registerConfiguredKinds(bare, c, silentLogger);
    t.fail('USER-CHAIN-ACL Kinds registered without the policy');
  } catch (err) {
    t.ok(err instanceof KindRegistrationError && err.reason === 'unknown-policy', 'refused: unknown policy');
  }
});

t.test('the module loads with --usage (default export: a factory)', async (t) => {
  const u = await loadUsageModule('usages/share/index.ts');
  t.equal(u.name, 'share');
  t.same(u.policies?.map((p) => p.name), ['USER-CHAIN-ACL']);
  t.same(u.kinds?.map((k) => [k.id, k.name, k.dataModel, k.accessControl]), [[4, 'ACCESS-CONTROL-LIST', 'array', 'USER-CHAIN-ACL']]);
});
