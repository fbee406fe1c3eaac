/** Every reload-node subcommand, in the order `--help` lists them. */
import type { Command } from '../command.js';

export const commands: Command[] = [];
