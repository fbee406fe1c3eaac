/** reload-node start: run a peer until SIGINT/SIGTERM, then leave the overlay cleanly. */
import { serveEnrollment } from '../../../certs/overlay-admin.js';
import { createNodeFromIdentity } from '../../node/create.js';
import type { ReloadNode } from '../../node/node.js';
import { toHex } from '../../wire/codec.js';
import { type Command, UsageError, parseOptions, required } from '../command.js';
import { createLogger } from '../logging.js';
import { asArray, parseHostPort, parseListen, untilSignal } from '../node-options.js';
import { loadUsageModules } from '../usages.js';

const usage = `
usage: reload-node start --identity DIR [options]

Runs a RELOAD peer with the identity in DIR (written by \`reload-node enroll\`) until
SIGINT/SIGTERM, then leaves the overlay cleanly (Leave to its neighbours, data handed over).

options:
  --identity DIR             identity directory: cert.pem, key.pem, config.xml, root.pem
  --listen KIND:HOST:PORT    where to listen; KIND tls (default), udp or tcp; repeatable
                             (default tls:0.0.0.0:6084)
  --bootstrap                this peer is the overlay's bootstrap (first) peer
  --bootstrap-node HOST:PORT bootstrap node to join through (default: the configuration's)
  --insecure-link            allow plain udp/tcp links (lab captures; messages stay signed)
  --enrollment HOST:PORT     also run the enrollment server, for the overlay in --overlay-dir
  --overlay-dir DIR          the overlay directory made by init-overlay (with --enrollment)
  --usage FILE               load a usage module (repeatable)
  --update-interval SECONDS  override chord-update-interval (neighbour Updates)
  --log-level LEVEL          trace, debug, info (default), warn, error, silent
`;

export const startCommand: Command = {
  name: 'start',
  summary: 'run a peer (or the bootstrap peer) until SIGINT/SIGTERM',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      identity: { type: 'string' },
      listen: { type: 'string', multiple: true },
      bootstrap: { type: 'boolean' },
      'bootstrap-node': { type: 'string', multiple: true },
      'insecure-link': { type: 'boolean' },
      enrollment: { type: 'string' },
      'overlay-dir': { type: 'string' },
      usage: { type: 'string', multiple: true },
      'update-interval': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
    });
    const dir = required(values, 'identity');
    const log = createLogger(String(values['log-level']));
    const listen = asArray(values.listen).map(parseListen);
    if (listen.length === 0) listen.push({ kind: 'tls', host: '0.0.0.0', port: 6084 });
    const bootstrap = asArray(values['bootstrap-node']).map((b) => parseHostPort(b, '--bootstrap-node', 6084));
    const topologyParams: Record<string, unknown> = {};
    if (values['update-interval'] !== undefined) {
      const s = Number(values['update-interval']);
      if (!(s > 0)) throw new UsageError('--update-interval must be a positive number of seconds');
      topologyParams.updateIntervalMs = s * 1000;
    }
    if (values.enrollment && !values['overlay-dir']) throw new UsageError('--enrollment needs --overlay-dir');
    const usages = await loadUsageModules(asArray(values.usage));
    const enrollment = values.enrollment
      ? await serveEnrollment(String(values['overlay-dir']), { ...parseHostPort(String(values.enrollment), '--enrollment') })
      : undefined;
    if (enrollment) io.stdout.write(`enrollment server: ${enrollment.configUrl}\n`);
    let node: ReloadNode;
    try {
      ({ node } = await createNodeFromIdentity(dir, {
        listen,
        firstNode: values.bootstrap === true,
        insecureLink: values['insecure-link'] === true,
        ...(bootstrap.length ? { bootstrap } : {}),
        bootstrapKind: listen[0]!.kind,
        usages,
        topologyParams,
        log,
      }));
      await node.start();
    } catch (err) {
      await enrollment?.close();
      throw err;
    }
    io.stdout.write(`node ${toHex(node.nodeId)} joined overlay ${node.params.overlayName}\n`);
    for (const a of node.addresses) io.stdout.write(`listening ${a.kind}:${a.address.host}:${a.address.port}\n`);
    const signal = await untilSignal();
    log.info('leaving the overlay', { signal });
    await node.leave();
    await enrollment?.close();
    io.stdout.write('left the overlay\n');
    return 0;
  },
};
