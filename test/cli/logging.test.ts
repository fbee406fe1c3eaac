/**
 * Structured logs (src/cli/logging.ts): pino JSON lines when stderr is a file or a pipe, a
 * compact human-readable line on a terminal, `--log-level` filtering, and a bad level is a
 * usage error (exit 2), not a crash.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { UsageError } from '../../src/cli/command.js';
import { LOG_LEVELS, createLogger } from '../../src/cli/logging.js';
import { cliPath } from '../helpers/processes.js';

/** A stream that keeps what is written; `isTTY` as a terminal's stderr has it. */
function sink(tty: boolean): Writable & { lines: () => string[] } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as Writable & { lines: () => string[]; isTTY?: boolean };
  if (tty) w.isTTY = true;
  w.lines = () => chunks.join('').split('\n').filter((l) => l !== '');
  return w;
}

/** pino writes asynchronously to some destinations: let it flush. */
const settle = () => new Promise((r) => setImmediate(r));

t.test('not a terminal: one JSON object per line, fields and child bindings included', async (t) => {
  const out = sink(false);
  const log = createLogger('info', out);
  log.info('joined the overlay', { nodeId: 'ab12', peers: 3 });
  log.child({ peer: 2 }).warn('link down', { remote: '127.0.0.1:6084' });
  log.debug('not shown at info');
  await settle();
  const lines = out.lines();
  t.equal(lines.length, 2, 'debug is below info');
  const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(a, { level: 30, msg: 'joined the overlay', nodeId: 'ab12', peers: 3 });
  t.type(a!.time, 'number', 'with a timestamp');
  t.notOk('pid' in a! || 'hostname' in a!, 'no pid/hostname noise');
  t.match(b, { level: 40, msg: 'link down', peer: 2, remote: '127.0.0.1:6084' }, 'the child carries its bindings');
});

t.test('a terminal: a human-readable line per record', async (t) => {
  const out = sink(true);
  const log = createLogger('debug', out);
  log.child({ peer: 5 }).info('joined the overlay', { nodeId: 'ab12', neighbours: ['a', 'b'] });
  log.error('store failed');
  log.debug('details');
  await settle();
  const lines = out.lines();
  t.equal(lines.length, 3);
  t.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} INFO {2}joined the overlay {2}peer=5 nodeId=ab12 neighbours=\["a","b"\]$/, 'time, level, message, then key=value');
  t.match(lines[1], /^\d\d:\d\d:\d\d\.\d{3} ERROR store failed$/);
  t.match(lines[2], /^\d\d:\d\d:\d\d\.\d{3} DEBUG details$/);
  t.notOk(lines.some((l) => l.startsWith('{')), 'no JSON on a terminal');
});

t.test('--log-level filters', async (t) => {
  for (const level of LOG_LEVELS) {
    const out = sink(false);
    const log = createLogger(level, out);
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    await settle();
    const got = out.lines().map((l) => (JSON.parse(l) as { msg: string }).msg);
    const expected = { trace: 'diwe', debug: 'diwe', info: 'iwe', warn: 'we', error: 'e', fatal: '', silent: '' }[level];
    t.equal(got.join(''), expected, `${level}: ${expected || 'nothing'}`);
  }
});

t.test('a bad level is a usage error naming the levels', async (t) => {
  t.throws(() => createLogger('loud', sink(false)), UsageError);
  t.throws(() => createLogger('loud', sink(false)), { message: /--log-level must be one of trace, debug, info, warn, error, fatal, silent; got "loud"/ });
  const r = spawnSync(process.execPath, [cliPath(), 'start', '--identity', '/nonexistent', '--log-level', 'loud'], { encoding: 'utf8' });
  t.equal(r.status, 2, 'reload-node start exits 2');
  t.match(r.stderr, /reload-node start: --log-level must be one of .*got "loud"/);
  t.notMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
});
