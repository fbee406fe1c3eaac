/**
 * Usages that cannot be loaded are refused at load time — when the node is created, before
 * any socket — with a message naming the usage and the problem: a Kind-ID that clashes
 * with the configuration's or another usage's, an invalid data model, an unknown policy, a
 * policy that refuses the Kind, invalid limits, a usage loaded twice, a module that
 * exports no usage, and a file that does not load. Every case through the library
 * (loadUsageModules + createNodeFromIdentity, what `start` runs), and a few through
 * `reload-node start --usage FILE` itself (one line on stderr, exit 1); a good usage
 * module outside the project starts, `--usage` repeated.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeOverlay } from '../helpers/overlay-dir.js';
import { cliPath } from '../helpers/processes.js';
import { loadUsageModule, loadUsageModules } from '../../src/cli/usages.js';
import { UsageLoadError } from '../../src/node/usage.js';
import { createNodeFromIdentity } from '../../src/node/create.js';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'reload-bad-usages-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a usage module exporting `usage` (JSON-able) as default; returns its path. */
function usageFile(name: string, source: string): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, source);
  return path;
}
const plugin = (usage: Record<string, unknown>): string => `export default ${JSON.stringify(usage)};\n`;
const kind = (over: Record<string, unknown>) => ({ id: 0xf0000300, name: 'BAD-KIND', dataModel: 'single', accessControl: 'USER-MATCH', maxCount: 1, maxSize: 100, ...over });

const ov = await makeOverlay();
const identity = await ov.identity('loader');

async function start(...usages: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const args = [cliPath(), 'start', '--identity', identity, '--listen', 'tls:127.0.0.1:0', '--bootstrap', '--log-level', 'warn'];
  for (const u of usages) args.push('--usage', u);
  try {
    const r = await run(process.execPath, args, { timeout: 20_000 });
    return { code: 0, stderr: r.stderr, stdout: r.stdout };
  } catch (err) {
    const e = err as { code: number; stderr: string; stdout: string };
    return { code: e.code, stderr: e.stderr, stdout: e.stdout };
  }
}

/** What `start` does with its --usage files, in process: load them, create the node. */
async function load(...paths: string[]): Promise<Error | undefined> {
  try {
    const usages = await loadUsageModules(paths);
    await createNodeFromIdentity(identity, { usages, listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }], firstNode: true });
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

const cases: { what: string; files: [string, string][]; message: RegExp; cli?: true }[] = [
  {
    what: 'a Kind-ID the overlay configuration defines differently',
    files: [['clash-config', plugin({ name: 'clasher', kinds: [kind({ id: 0xf0000001, dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH' })] })]],
    message: /usage "clasher": Kind 4026531841 refused \(clash: Kind 4026531841: already registered by config as single\/USER-MATCH.*clasher defines dictionary\/USER-NODE-MATCH/,
    cli: true,
  },
  {
    what: 'a Kind-ID another usage defines differently',
    files: [
      ['first', plugin({ name: 'first', kinds: [kind({})] })],
      ['second', plugin({ name: 'second', kinds: [kind({ maxSize: 200, name: 'OTHER-NAME' })] })],
    ],
    message: /usage "second": Kind 4026532608 refused \(clash: .*already registered by first/,
  },
  {
    what: 'a Kind name another Kind has',
    files: [
      ['named', plugin({ name: 'named', kinds: [kind({})] })],
      ['name-clash', plugin({ name: 'namer', kinds: [kind({ id: 0xf0000301, name: 'bad-kind' })] })],
    ],
    message: /usage "namer": Kind 4026532609 refused \(clash: .*name bad-kind is already Kind 4026532608 \(named\)/,
  },
  {
    what: 'an invalid data model',
    files: [['model', plugin({ name: 'modeller', kinds: [kind({ dataModel: 'tree' })] })]],
    message: /usage "modeller": Kind 4026532608 refused \(invalid-data-model: /,
    cli: true,
  },
  {
    what: 'an unknown access-control policy',
    files: [['policy', plugin({ name: 'policer', kinds: [kind({ accessControl: 'NOBODY-MATCH' })] })]],
    message: /usage "policer": Kind 4026532608 refused \(unknown-policy: .*NOBODY-MATCH/,
  },
  {
    what: 'a policy that refuses the data model',
    files: [['policy-model', plugin({ name: 'mismatch', kinds: [kind({ dataModel: 'array', accessControl: 'USER-NODE-MATCH' })] })]],
    message: /usage "mismatch": Kind 4026532608 refused \(policy-refused: .*dictionary Kinds only/,
  },
  {
    what: 'invalid limits',
    files: [['limits', plugin({ name: 'limiter', kinds: [kind({ maxCount: 0 })] })]],
    message: /usage "limiter": Kind 4026532608 refused \(invalid-limits: /,
  },
  {
    what: 'the reserved Kind-ID 0',
    files: [['zero', plugin({ name: 'zero', kinds: [kind({ id: 0 })] })]],
    message: /usage "zero": Kind 0 refused \(invalid-id: /,
  },
  {
    what: 'an invalid policy declaration',
    files: [['bad-policy', 'export default { name: "badpol", policies: [{ name: "no spaces allowed" }] };\n']],
    message: /usage "badpol": access-control policy no spaces allowed: a policy needs a name/,
  },
  {
    what: 'the same usage twice',
    files: [
      ['twice-a', plugin({ name: 'twin', kinds: [] })],
      ['twice-b', plugin({ name: 'twin', kinds: [] })],
    ],
    message: /usage "twin": loaded twice/,
  },
  {
    what: 'a module without a usage',
    files: [['empty', 'export const nothing = 1;\n']],
    message: /empty\.mjs": the module must export a usage plugin/,
  },
  {
    what: 'a module that does not load',
    files: [['broken', 'export default {;\n']],
    message: /broken\.mjs": cannot load module: /,
    cli: true,
  },
];

for (const c of cases) {
  t.test(`refused at load time: ${c.what}`, async (t) => {
    const paths = c.files.map(([name, src]) => usageFile(name, src));
    const err = await load(...paths);
    t.type(err, UsageLoadError, 'a UsageLoadError');
    t.match(err?.message, c.message);
    if (!c.cli) return;
    const r = await start(...paths);
    t.equal(r.code, 1, 'reload-node start: exit code 1');
    t.match(r.stderr, /^reload-node start: usage "[^\n]*\n$/, 'one line from the CLI');
    t.match(r.stderr, c.message);
    t.notMatch(r.stdout, /joined overlay/, 'never joined');
  });
}

t.test('a missing file', async (t) => {
  const err = await load(join(dir, 'does-not-exist.js'));
  t.type(err, UsageLoadError);
  t.match(err?.message, /does-not-exist\.js": cannot load module: /);
});

t.test('loadUsageModule: the library form of the same refusals', async (t) => {
  await t.rejects(loadUsageModule(usageFile('lib-empty', 'export default 42;\n')), UsageLoadError);
  const fn = await loadUsageModule(usageFile('lib-fn', 'export default () => ({ name: "made", kinds: [] });\n'));
  t.equal(fn.name, 'made', 'a default export that is a function is called');
  const named = await loadUsageModule(usageFile('lib-named', 'export const usage = { name: "named" };\n'));
  t.equal(named.name, 'named', 'or an export named usage');
});

t.test('good usages start: --usage repeated', async (t) => {
  // A usage module outside the project, as a user writes one: plain ESM, no imports; and
  // the example usage as built.
  const good = usageFile('good', `export default { ...${JSON.stringify({ name: 'good', kinds: [kind({ id: 0xf0000400, name: 'GOOD-KIND' })] })}, status: () => ({ title: 'Good', ready: true }) };\n`);
  const example = fileURLToPath(new URL('../../dist/usages/example/index.js', import.meta.url));
  const args = [cliPath(), 'start', '--identity', identity, '--listen', 'tls:127.0.0.1:0', '--bootstrap', '--usage', good, '--usage', example, '--log-level', 'warn', '--status', '127.0.0.1:0'];
  const child = execFile(process.execPath, args);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 30_000);
    child.stdout!.on('data', () => {
      if (/joined overlay/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  t.match(out, /joined overlay overlay\.test\.example/);
  await new Promise<void>((resolve) => {
    const check = (): void => void (/status page: /.test(out) ? resolve() : setTimeout(check, 50));
    check();
  });
  const url = /status page: (\S+)/.exec(out)![1]!;
  const status = (await (await fetch(new URL('api/status', url))).json()) as { sections: { usage: string; fields: Record<string, unknown> }[] };
  t.same(status.sections.map((s) => s.usage).sort(), ['example-notes', 'good'], 'both usages run (their sections on the status page)');
  t.same(status.sections.find((s) => s.usage === 'good')?.fields, { ready: true });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'leaves cleanly on SIGTERM');
});
