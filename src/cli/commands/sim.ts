/**
 * `reload-node sim`: runs the overlay simulator (src/sim/) — real RELOAD peers on the
 * in-memory link with a virtual clock — and reports lookup success, hops, latency,
 * maintenance traffic, stored values lost and reconvergence; optionally SVG plots.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ChurnSpec, parseChurnSpec } from '../../sim/churn.js';
import { type ConferenceSpec, parseConferenceSpec } from '../../sim/conference.js';
import { parseDuration } from '../../sim/duration.js';
import { runLandmarkComparison } from '../../sim/landmarks.js';
import { parseLatencyMatrix } from '../../sim/latency.js';
import { type SimProgress, Simulation, type SimulationOptions, type SimulationReport } from '../../sim/simulation.js';
import { hopHistogramSvg, ringSvg, successOverTimeSvg } from '../../sim/svg.js';
import { type Command, type CommandIO, UsageError, parseOptions } from '../command.js';

function int(values: Record<string, unknown>, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || !(n >= min && n <= max)) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
  return n;
}

function num(values: Record<string, unknown>, name: string, min: number, max: number, exclusive = false): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (exclusive && (n === min || n === max))) {
    throw new UsageError(`--${name} must be a number in ${exclusive ? '(' : '['}${min}, ${max}${exclusive ? ')' : ']'}`);
  }
  return n;
}

function duration(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  try {
    return parseDuration(String(v));
  } catch (err) {
    throw new UsageError(`--${name}: ${(err as Error).message}`);
  }
}

function choice<T extends string>(values: Record<string, unknown>, name: string, allowed: readonly T[]): T | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new UsageError(`--${name} must be ${allowed.join(' or ')}`);
  return v as T;
}

/** A one-line progress bar on a terminal (stderr). */
function progressBar(io: CommandIO): ((p: SimProgress) => void) | undefined {
  const err = io.stderr as NodeJS.WriteStream;
  if (!err.isTTY) return undefined;
  const started = performance.now();
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < 100 && p.done !== p.total) return;
    last = now;
    const width = 30;
    const filled = p.total > 0 ? Math.round((width * p.done) / p.total) : 0;
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const line = `[${bar}] ${p.phase.padEnd(8)} ${p.done}/${p.total}  virtual ${Math.round(p.virtualMs / 1000)} s  wall ${((now - started) / 1000).toFixed(0)} s`;
    err.write(`\r${line.padEnd((err.columns ?? 100) - 1).slice(0, (err.columns ?? 100) - 1)}`);
  };
}

function summary(r: SimulationReport): string {
  const lines = [
    `nodes ${r.nodes}, seed ${r.seed}: ${r.lookups} lookups, success ${(r.success_rate * 100).toFixed(3)} %`,
    `hops mean ${r.hops.mean} (p50 ${r.hops.p50}, p99 ${r.hops.p99}); 0.5·log2(N)+1 = ${(0.5 * Math.log2(r.nodes) + 1).toFixed(2)}`,
    `lookup latency mean ${r.latency_ms.mean} ms (p50 ${r.latency_ms.p50}, p99 ${r.latency_ms.p99})`,
    `values stored ${r.values_stored}, lost ${r.values_lost}, not fetchable ${r.values_unfetchable}`,
    `maintenance ${r.maintenance_msgs_per_peer_s} msgs and ${r.maintenance_bytes_per_peer_s} bytes per peer per second`,
    `ring: ${r.ring.peers} peers, ${r.ring.consistent ? 'consistent' : `${r.ring.wrong_successor} wrong successors, ${r.ring.wrong_predecessor} wrong predecessors`}, mean routing table ${r.ring.mean_routing_table}`,
    `build: ${r.build.mode}, ${r.build.joined} joined, ${r.build.failed} failed, converged after ${r.build.converge_s ?? 'never'} s (wall ${r.build.wall_s} s)`,
  ];
  if (r.churn) {
    lines.push(`churn ${r.churn.spec}: ${r.churn.departures} departures (${r.churn.crashes} crashes, ${r.churn.leaves} leaves), ${r.churn.arrivals} arrivals, ${r.churn.joins_failed} joins failed`);
  }
  if (r.fail) {
    lines.push(`failure of ${r.fail.percent} % (${r.fail.killed} peers): ring reconverged after ${r.fail.reconverge_s ?? 'never'} s, success ≥ 99.9 % after ${r.fail.success_recovered_s ?? 'never'} s; then ${(r.fail.success_after * 100).toFixed(3)} % of ${r.fail.lookups_after}`);
  }
  if (r.nearest_capable_rtt_ms) {
    const n = r.nearest_capable_rtt_ms;
    lines.push(`nearest capable peer RTT: landmark IDs ${n.landmark} ms, random IDs ${n.random} ms (ratio ${n.ratio}; best possible ${n.best_possible} ms; ${n.queries} queries, ${n.stats_per_query} Stats each)`);
  }
  if (r.conference_rtt_ms) {
    const c = r.conference_rtt_ms;
    lines.push(
      `conference focus RTT (${c.spec}): chooseSecondaryFocus ${c.landmark} ms, random focus ${c.random} ms (ratio ${c.ratio}; delegated only ${c.delegated_landmark} vs ${c.delegated_random} ms; ${c.served} served, ${c.delegated} delegated, ${c.foci} foci)`,
    );
  }
  lines.push(`wall ${r.wall_s} s, CPU ${r.cpu_s} s, peak RSS ${r.peak_rss_mb} MB, virtual ${r.virtual_s} s`);
  lines.push(`link: ${r.options.link}; signatures: ${r.options.signatures}; chord update ${r.options.chord.updateIntervalMs / 1000} s, finger ${r.options.chord.fingerIntervalMs / 1000} s`);
  lines.push(r.cheap.length ? `CHEAP MODES: ${r.cheap.join('; ')}` : 'no cheap mode: every peer has its own key, every message is signed and verified, every peer joined');
  return `${lines.join('\n')}\n`;
}

async function writePlots(dir: string, r: SimulationReport, regions: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['report.json', `${JSON.stringify(r, null, 2)}\n`],
    ['hops.svg', hopHistogramSvg(r.hop_histogram)],
    ['ring.svg', ringSvg(r.ring_positions, regions)],
  ];
  if (r.churn) files.push(['success.svg', successOverTimeSvg(r.churn.success_over_time, `Lookup success under churn (${r.churn.spec})`)]);
  else if (r.fail) files.push(['success.svg', successOverTimeSvg(r.fail.success_over_time, `Lookup success after ${r.fail.percent} % of the peers failed`, [{ t_s: 0, label: 'failure' }])]);
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}

export const simCommand: Command = {
  name: 'sim',
  summary: 'simulate an overlay of many real peers on a virtual clock (lookups, churn, failures, landmarks)',
  usage: `
usage: reload-node sim --nodes N [--seed S] [--lookups L] [--values V]
                       [--churn SPEC] [--fail PCT] [--landmarks] [--json] [--out DIR]
                       [--regions R | --latency-matrix FILE] [--link stream|simple]
                       [--key-pool K] [--signatures real|digest] [--bootstrap join|bulk]
                       [--update-interval DUR] [--finger-interval DUR] [--join-interval DUR]
                       [--lookup-rate PER_S] [--capable FRACTION] [--queries Q]
                       [--conference SPEC]

Runs N real RELOAD peers (codec, routing, storage, security, CHORD-RELOAD) in one process on
the in-memory link with a virtual clock; deterministic for a seed. Builds the overlay,
stores V values (3 copies), then:
  (default)       L lookups (Fetch of random stored values from random peers)
  --churn SPEC    churn while L lookups run, e.g. median-session=30m,duration=2h
                  (keys: median-session, duration, crash=0.5, dist=exponential|pareto,
                  shape=2; durations in s, m or h)
  --fail PCT      PCT % of the peers crash at once; reports the time to reconverge, then
                  L lookups on the repaired overlay
  --landmarks     landmark-aware Node-IDs (one landmark per region) against random IDs:
                  the RTT to the ID-nearest peer advertising a capability, and the
                  conference scenario: mean RTT from participants to their focus, secondary
                  focus chosen by chooseSecondaryFocus (usages/sdcon) vs at random
  --conference SPEC  the conference scenario's shape (implies --landmarks), e.g.
                  conferences=20,size=40,capacity=8 (keys: conferences, size, capacity,
                  candidates=4; defaults as in the example)

Latency: --regions R (default 6; 5-20 ms one way inside a region, 40-250 ms between) or
--latency-matrix FILE (square matrix of one-way ms between sites, JSON or text rows).
Links: --link stream (default; TLS/TCP with framed header) or simple (DTLS-UDP stop-and-wait).

Cheap modes for very large runs (off by default, always listed in the report):
  --key-pool K        K RSA key pairs shared by all peers (certificates stay per peer)
  --signatures digest signature-free: 64-bit checksums instead of RSA signatures
  --bootstrap bulk    wire the initial ring from global knowledge instead of joining

Output: a summary, or one JSON object with --json; a progress bar on a terminal (stderr);
--out DIR writes report.json, hops.svg, ring.svg and (churn, fail) success.svg.
`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      nodes: { type: 'string' },
      seed: { type: 'string' },
      lookups: { type: 'string' },
      values: { type: 'string' },
      churn: { type: 'string' },
      fail: { type: 'string' },
      landmarks: { type: 'boolean' },
      json: { type: 'boolean' },
      out: { type: 'string' },
      regions: { type: 'string' },
      'latency-matrix': { type: 'string' },
      link: { type: 'string' },
      'key-pool': { type: 'string' },
      signatures: { type: 'string' },
      bootstrap: { type: 'string' },
      'update-interval': { type: 'string' },
      'finger-interval': { type: 'string' },
      'join-interval': { type: 'string' },
      'lookup-rate': { type: 'string' },
      capable: { type: 'string' },
      queries: { type: 'string' },
      conference: { type: 'string' },
    });
    const nodes = int(values, 'nodes', 2, 1_000_000);
    if (nodes === undefined) throw new UsageError('--nodes is required');
    let churn: ChurnSpec | undefined;
    if (values.churn !== undefined) {
      try {
        churn = parseChurnSpec(String(values.churn));
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    const fail = num(values, 'fail', 0, 100, true);
    if (churn && fail !== undefined) throw new UsageError('--churn and --fail are separate scenarios: give one');
    if (values.regions !== undefined && values['latency-matrix'] !== undefined) throw new UsageError('--regions and --latency-matrix exclude each other');
    let latency: SimulationOptions['latency'];
    if (values['latency-matrix'] !== undefined) {
      try {
        latency = { matrix: parseLatencyMatrix(await readFile(String(values['latency-matrix']), 'utf8')) };
      } catch (err) {
        throw new UsageError(`--latency-matrix: ${(err as Error).message}`);
      }
    } else {
      const regions = int(values, 'regions', 1, 64);
      if (regions !== undefined) latency = { regions };
    }
    const update = duration(values, 'update-interval');
    const finger = duration(values, 'finger-interval');
    const joinInterval = duration(values, 'join-interval');
    const onProgress = progressBar(io);
    const options: SimulationOptions = {
      nodes,
      seed: String(values.seed ?? '1'),
      ...(int(values, 'lookups', 0) !== undefined ? { lookups: int(values, 'lookups', 0)! } : {}),
      ...(int(values, 'values', 1) !== undefined ? { values: int(values, 'values', 1)! } : {}),
      ...(churn ? { churn } : {}),
      ...(fail !== undefined ? { failPercent: fail } : {}),
      ...(latency ? { latency } : {}),
      ...(choice(values, 'link', ['stream', 'simple'] as const) ? { link: choice(values, 'link', ['stream', 'simple'] as const)! } : {}),
      ...(int(values, 'key-pool', 0, 100_000) !== undefined ? { keyPool: int(values, 'key-pool', 0, 100_000)! } : {}),
      ...(choice(values, 'signatures', ['real', 'digest'] as const) ? { signatures: choice(values, 'signatures', ['real', 'digest'] as const)! } : {}),
      ...(choice(values, 'bootstrap', ['join', 'bulk'] as const) ? { bootstrap: choice(values, 'bootstrap', ['join', 'bulk'] as const)! } : {}),
      ...(update !== undefined || finger !== undefined ? { chord: { ...(update !== undefined ? { updateIntervalMs: update } : {}), ...(finger !== undefined ? { fingerIntervalMs: finger } : {}) } } : {}),
      ...(joinInterval !== undefined ? { joinIntervalMs: joinInterval } : {}),
      ...(num(values, 'lookup-rate', 0, 1_000_000, true) !== undefined ? { lookupRatePerS: num(values, 'lookup-rate', 0, 1_000_000, true)! } : {}),
      ...(onProgress ? { onProgress } : {}),
    };
    const capable = num(values, 'capable', 0, 1, true);
    const queries = int(values, 'queries', 1);
    let conference: ConferenceSpec | undefined;
    if (values.conference !== undefined) {
      try {
        conference = parseConferenceSpec(String(values.conference));
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    const landmarks = values.landmarks === true || conference !== undefined;
    if (!landmarks && (capable !== undefined || queries !== undefined)) throw new UsageError('--capable and --queries go with --landmarks');
    let report: SimulationReport;
    if (landmarks) {
      report = await runLandmarkComparison(options, {
        ...(capable !== undefined ? { capableFraction: capable } : {}),
        ...(queries !== undefined ? { queries } : {}),
        ...(conference ? { conference } : {}),
      });
    } else {
      const sim = new Simulation(options);
      report = await sim.run();
      await sim.close();
    }
    if (onProgress) io.stderr.write('\n');
    const regions = latency && 'matrix' in latency ? latency.matrix.length : (latency?.regions ?? 6);
    const written = values.out !== undefined ? await writePlots(String(values.out), report, regions) : [];
    if (values.json) {
      io.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      io.stdout.write(summary(report));
      for (const f of written) io.stdout.write(`wrote ${f}\n`);
    }
    return 0;
  },
};
