/**
 * The simulator on a few hundred real peers (CI-sized versions of the issue #5 figures):
 * a stable overlay, determinism for a seed, and `reload-node sim` (JSON report, plots, bad
 * input). The figures themselves are measured by bench/sim.ts.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { simCommand } from '../../src/cli/commands/sim.js';
import { UsageError } from '../../src/cli/command.js';
import { Simulation, type SimulationOptions } from '../../src/sim/simulation.js';

async function simulate(o: SimulationOptions) {
  const sim = new Simulation(o);
  try {
    return await sim.run();
  } finally {
    await sim.close();
  }
}

t.test('stable overlay, joined through the real protocol, real signatures', async (t) => {
  const r = await simulate({ nodes: 30, seed: 'ci-real', lookups: 200, keyPool: 4 });
  t.equal(r.build.joined, 30);
  t.equal(r.build.failed, 0);
  t.ok(r.ring.consistent, 'every peer has its true successor and predecessor');
  t.equal(r.lookups, 200);
  t.equal(r.success_rate, 1);
  t.equal(r.values_lost, 0);
  t.equal(r.values_unfetchable, 0);
  t.equal(r.options.signatures, 'node:crypto');
  t.same(r.cheap.length, 1, 'only the key pool is cheap');
  t.match(r.cheap[0], /key pool: 4/);
  t.ok(r.maintenance_msgs_per_peer_s > 0 && r.maintenance_bytes_per_peer_s > 0);
  t.ok(r.hops.mean >= 1 && r.hops.p50 <= r.hops.p99 && r.hops.p99 <= r.hops.max);
  t.ok(r.latency_ms.mean > 0);
  t.equal(r.hop_histogram.reduce((a, b) => a + b, 0), 200);
});

t.test('stable 256-peer overlay: mean hops within 0.5·log2(N)+1, deterministic for a seed', async (t) => {
  const o: SimulationOptions = { nodes: 256, seed: 'ci-stable', lookups: 2000, keyPool: 4, signatures: 'digest', bootstrap: 'bulk', lookupRatePerS: 2000 };
  const a = await simulate(o);
  t.equal(a.success_rate, 1);
  t.equal(a.lookups, 2000);
  t.ok(a.hops.mean <= 0.5 * Math.log2(256) + 1, `mean hops ${a.hops.mean}`);
  t.ok(a.ring.consistent);
  t.equal(a.values_stored, 256);
  t.equal(a.values_lost, 0);
  t.equal(a.cheap.length, 3, 'every cheap mode in effect is listed');
  const small = { ...o, nodes: 60, lookups: 300 };
  const b = await simulate(small);
  const c = await simulate(small);
  t.same(
    { h: b.hop_histogram, l: b.latency_ms, m: b.maintenance_msgs_per_peer_s, v: b.virtual_s },
    { h: c.hop_histogram, l: c.latency_ms, m: c.maintenance_msgs_per_peer_s, v: c.virtual_s },
    'same seed, same run',
  );
  const d = await simulate({ ...small, seed: 'ci-other' });
  t.not(JSON.stringify(d.ring_positions), JSON.stringify(b.ring_positions), 'another seed, other Node-IDs');
});

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  return { io: { stdout, stderr, stdin: new PassThrough() }, out: () => out };
}

t.test('reload-node sim: JSON report and plots', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const x = io();
  const code = await simCommand.run(
    ['--nodes', '60', '--seed', '7', '--lookups', '200', '--fail', '20', '--key-pool', '2', '--signatures', 'digest', '--bootstrap', 'bulk', '--json', '--out', dir],
    x.io,
  );
  t.equal(code, 0);
  const r = JSON.parse(x.out());
  for (const k of ['nodes', 'seed', 'lookups', 'success_rate', 'values_stored', 'values_lost', 'maintenance_msgs_per_peer_s', 'wall_s', 'peak_rss_mb']) t.ok(k in r, k);
  t.equal(r.nodes, 60);
  t.equal(r.seed, '7');
  t.ok(['mean', 'p50', 'p99'].every((k) => typeof r.hops[k] === 'number'));
  t.ok(['mean', 'p99'].every((k) => typeof r.latency_ms[k] === 'number'));
  t.equal(r.fail.killed, 12);
  t.equal(r.cheap.length, 3);
  for (const f of ['report.json', 'hops.svg', 'ring.svg', 'success.svg']) {
    const text = readFileSync(join(dir, f), 'utf8');
    t.ok(f.endsWith('.json') ? JSON.parse(text).nodes === 60 : text.startsWith('<svg'), f);
  }
  t.match(readFileSync(join(dir, 'ring.svg'), 'utf8'), /<circle/);
});

t.test('reload-node sim refuses bad input with the reason', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /--nodes is required/],
    [['--nodes', '1'], /--nodes must be an integer in 2/],
    [['--nodes', '10', '--churn', 'duration=2h'], /median-session is required/],
    [['--nodes', '10', '--fail', '100'], /--fail must be a number in \(0, 100\)/],
    [['--nodes', '10', '--fail', '5', '--churn', 'median-session=1m,duration=1h'], /separate scenarios/],
    [['--nodes', '10', '--conference', 'size=0'], /size must be an integer/],
    [['--nodes', '10', '--conference', 'rooms=3'], /unknown key "rooms"/],
    [['--nodes', '10', '--signatures', 'none'], /--signatures must be real or digest/],
    [['--nodes', '10', '--bogus'], /bogus/],
  ];
  for (const [argv, why] of cases) await t.rejects(simCommand.run(argv, io().io), { name: 'UsageError', message: why }, argv.join(' '));
  t.ok(new UsageError('x') instanceof Error);
});
