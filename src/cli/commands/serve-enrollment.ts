/** reload-node serve-enrollment: run an overlay's configuration and enrollment server. */
import { serveEnrollment } from '../../../certs/overlay-admin.js';
import { type Command, type CommandIO, UsageError, parseOptions, required } from '../command.js';
import { parseHostPort } from './init-overlay.js';

const usage = `
usage: reload-node serve-enrollment --dir DIR --listen HOST:PORT [options]

Serves the overlay in DIR over HTTPS until SIGINT or SIGTERM: the configuration at
/.well-known/reload-config and enrollment (RFC 6940 §11.3) at the path of the
configuration's enrollment-server URL. The HTTPS certificate is issued by the overlay CA
for HOST (and the enrollment URL's host) and kept in DIR/enrollment/.

  --dir DIR               the overlay directory (made by init-overlay)
  --listen HOST:PORT      address to listen on (port 0 picks a free port)
  --rate-burst N          requests a client address may make at once (default 20)
  --rate-per-second N     sustained requests per second per client address (default 1)
  --max-body BYTES        largest enrollment request body (default 65536)
`;

function positive(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^[0-9]+(\.[0-9]+)?$/.test(v) || !(n > 0)) throw new UsageError(`--${what} ${String(v)}: not a positive number`);
  return n;
}

/**
 * The command body, serving until `stop` resolves (the command passes a promise settled
 * by SIGINT/SIGTERM; tests pass their own).
 */
export async function serveEnrollmentUntil(argv: string[], io: CommandIO, stop: Promise<unknown>): Promise<number> {
  const { values } = parseOptions(argv, {
    dir: { type: 'string' },
    listen: { type: 'string' },
    'rate-burst': { type: 'string' },
    'rate-per-second': { type: 'string' },
    'max-body': { type: 'string' },
  });
  const dir = required(values, 'dir');
  const { host, port } = parseHostPort(required(values, 'listen'), '--listen');
  const burst = positive(values['rate-burst'], 'rate-burst');
  const perSecond = positive(values['rate-per-second'], 'rate-per-second');
  const maxBody = positive(values['max-body'], 'max-body');
  if (burst !== undefined && !Number.isInteger(burst)) throw new UsageError(`--rate-burst ${burst}: not an integer`);
  const running = await serveEnrollment(dir, {
    host,
    port,
    rateLimit: { burst, perSecond },
    maxBodyBytes: maxBody === undefined ? undefined : Math.floor(maxBody),
    log: (line) => io.stderr.write(`${line}\n`),
  });
  io.stdout.write(`configuration: ${running.configUrl}\n`);
  for (const u of running.enrollmentUrls) {
    io.stdout.write(`enrollment:    ${u}\n`);
    const e = new URL(u);
    const ePort = Number(e.port || 443);
    if (ePort !== running.port) {
      io.stderr.write(`warning: the configuration sends enrollments to ${u}, but this server listens on port ${running.port}\n`);
    }
  }
  try {
    await stop;
  } finally {
    await running.close();
  }
  io.stdout.write('enrollment server stopped\n');
  return 0;
}

export const serveEnrollmentCommand: Command = {
  name: 'serve-enrollment',
  summary: 'serve the configuration and enroll users over HTTPS until interrupted',
  usage,
  run(argv, io) {
    let onSignal: () => void = () => undefined;
    const stop = new Promise<void>((resolve) => {
      onSignal = () => resolve();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
    return serveEnrollmentUntil(argv, io, stop).finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  },
};
