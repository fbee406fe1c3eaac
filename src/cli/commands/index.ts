/** Every reload-node subcommand, in the order `--help` lists them. */
import type { Command } from '../command.js';
import { addUserCommand } from './add-user.js';
import { enrollCommand } from './enroll.js';
import { initOverlayCommand } from './init-overlay.js';
import { serveEnrollmentCommand } from './serve-enrollment.js';
import { decodeCommand } from './decode.js';
import { wireCorpusCommand } from './wire-corpus.js';
import { startCommand } from './start.js';
import { demoCommand } from './demo.js';
import { fetchCommand, findCommand, pingCommand, routeCommand, statCommand, storeCommand } from './client.js';
import { diagCommand } from './diag.js';
import { simCommand } from './sim.js';

export const commands: Command[] = [
  demoCommand,
  startCommand,
  storeCommand,
  fetchCommand,
  statCommand,
  findCommand,
  pingCommand,
  routeCommand,
  diagCommand,
  initOverlayCommand,
  addUserCommand,
  serveEnrollmentCommand,
  enrollCommand,
  decodeCommand,
  wireCorpusCommand,
  simCommand,
];
