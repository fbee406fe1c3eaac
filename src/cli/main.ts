#!/usr/bin/env node
/** reload-node: the command line of the RELOAD overlay node. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Command, type CommandIO, UsageError } from './command.js';
import { commands } from './commands/index.js';

export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(overview());
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.stderr.write(`reload-node: unknown command "${name}"\n\n${overview()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${cmd.usage.trim()}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`reload-node ${name}: ${err.message}\n\n${cmd.usage.trim()}\n`);
      return 2;
    }
    const e = err as Error;
    io.stderr.write(`reload-node ${name}: ${e.message}\n`);
    return 1;
  }
}

function overview(): string {
  const width = Math.max(...commands.map((c: Command) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: reload-node <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nreload-node <command> --help shows a command's options.\n`;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`reload-node: ${(err as Error).stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
