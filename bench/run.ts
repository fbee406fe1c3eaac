/**
 * Benchmark runner: `npm run bench` runs every benchmark module in bench/, `npm run bench --
 * codec` runs bench/codec.ts only (several names may be given; options after the names are
 * passed to the modules).
 *
 * A benchmark module exports `run(args: string[]): Promise<void>` and prints its figures.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchModule {
  run(args: string[]): Promise<void>;
}

async function main(argv: string[]): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  const available = (await readdir(here))
    .filter((f) => f.endsWith('.js') && f !== 'run.js')
    .map((f) => f.slice(0, -3))
    .sort();
  const names = argv.filter((a) => !a.startsWith('-'));
  const args = argv.filter((a) => a.startsWith('-'));
  const unknown = names.filter((n) => !available.includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`bench: no benchmark named ${unknown.join(', ')}; available: ${available.join(', ')}\n`);
    return 2;
  }
  const selected = names.length > 0 ? names : available;
  for (const name of selected) {
    const mod = (await import(pathToFileURL(join(here, `${name}.js`)).href)) as Partial<BenchModule>;
    if (typeof mod.run !== 'function') {
      process.stderr.write(`bench: bench/${name}.ts does not export run(args)\n`);
      return 1;
    }
    process.stdout.write(`\n=== bench ${name} (node ${process.version}, ${process.arch}) ===\n`);
    await mod.run(args);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
