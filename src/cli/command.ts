/**
 * The shape of a reload-node subcommand. Each lives in src/cli/commands/<name>.ts and is
 * listed in main.ts. Commands return an exit code; they throw UsageError for bad
 * arguments (printed with the command's usage, exit 2).
 */
import { parseArgs } from 'node:util';

export interface Command {
  name: string;
  /** One line for `reload-node --help`. */
  summary: string;
  /** Full usage text for `reload-node NAME --help`. */
  usage: string;
  run(argv: string[], io: CommandIO): Promise<number>;
}

export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** node:util parseArgs with strict checking; unknown options become a UsageError. */
export function parseOptions<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(
  argv: string[],
  options: T,
  allowPositionals = false,
): { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options: options!, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A required string option. */
export function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}
