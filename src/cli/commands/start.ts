/** reload-node start: run a peer until SIGINT/SIGTERM, then leave the overlay cleanly. */
import { loadIdentity } from '../../../certs/enrollment-client.js';
import { serveEnrollment } from '../../../certs/overlay-admin.js';
import { sipUsage } from '../../../usages/sip/index.js';
import { DISCO_REGISTRATION_KIND, DISCO_REGISTRATION_NAME, discoUsage } from '../../../usages/sdcon/index.js';
import { ShareUsage } from '../../../usages/share/index.js';
import { CapabilityDirectory } from '../../../topology/landmarks/capabilities.js';
import { createNodeFromIdentity } from '../../node/create.js';
import type { ReloadNode } from '../../node/node.js';
import { toHex } from '../../wire/codec.js';
import { type Command, UsageError, parseOptions, required } from '../command.js';
import { createLogger } from '../logging.js';
import { asArray, parseHostPort, parseListen, untilSignal } from '../node-options.js';
import { loadUsageModules } from '../usages.js';
import { serveStatus } from '../../status/server.js';
import { diagnosticsAccess } from '../diagnostics-access.js';

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
  --sip HOST:PORT            run a SIP front end for ordinary SIP phones on UDP and TCP
                             HOST:PORT: registrar and proxy over the overlay (RFC 7904)
  --sip-user DIR             an identity directory (from \`reload-node enroll\`) whose AOR
                             the front end may register (repeatable; the peer's own AOR
                             always may)
  --focus                    act as a conference focus (DisCo): advertise "disco-focus" and
                             take calls delegated by other foci (needs --sip)
  --focus-capacity N         participants this focus serves before delegating (default 10)
  --conference URI           create this conference with this peer as primary focus,
                             e.g. sip:team-conf-USER@DOMAIN (repeatable; implies --focus)
  --focus-coordinate BIN     the coordinate in this focus' registrations: its landmark bin
                             as given to enroll --landmark-bin (e.g. 2.0.1:0.1.2)
  --update-interval SECONDS  override chord-update-interval (neighbour Updates)
  --log-level LEVEL          trace, debug, info (default), warn, error, silent
  --status HOST:PORT         serve the status page (and /api/status) there, e.g. 127.0.0.1:8080
  --diagnostics WHO          RFC 7851 diagnostics answered to enrolled nodes: all (default),
                             none, or a comma list of Kinds (routing_table_size,app_uptime,...)
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
      sip: { type: 'string' },
      'sip-user': { type: 'string', multiple: true },
      focus: { type: 'boolean' },
      'focus-capacity': { type: 'string' },
      conference: { type: 'string', multiple: true },
      'focus-coordinate': { type: 'string' },
      'update-interval': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      status: { type: 'string' },
      diagnostics: { type: 'string', default: 'all' },
    });
    const statusAt = values.status !== undefined ? parseHostPort(String(values.status), '--status') : undefined;
    const diagnostics = { access: diagnosticsAccess(String(values.diagnostics)) };
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
    const sipUsers = asArray(values['sip-user']);
    if (sipUsers.length > 0 && values.sip === undefined) throw new UsageError('--sip-user needs --sip');
    const sip =
      values.sip !== undefined
        ? sipUsage({
            frontEnd: {
              ...parseHostPort(String(values.sip), '--sip', 5060),
              users: await Promise.all(sipUsers.map(async (d) => (await loadIdentity(d)).credentials)),
            },
          })
        : undefined;
    if (sip) usages.push(sip);
    // DisCo (usages/sdcon): a focus with --focus / --conference; a front end that only routes
    // calls to conference URIs when the overlay configuration declares DISCO-REGISTRATION
    // (such an overlay needs ShaRe's USER-CHAIN-ACL policy on every peer, front end or not).
    const conferences = asArray(values.conference).map(String);
    const focus = values.focus === true || conferences.length > 0;
    if ((focus || values['focus-capacity'] !== undefined || values['focus-coordinate'] !== undefined) && !sip) {
      throw new UsageError('--focus, --focus-capacity, --focus-coordinate and --conference need --sip');
    }
    const coordinate = values['focus-coordinate'] === undefined ? undefined : String(values['focus-coordinate']);
    if (coordinate !== undefined && !/^[0-9]{1,2}(\.[0-9]{1,2})*:[0-9]{1,2}(\.[0-9]{1,2})*$/.test(coordinate)) {
      throw new UsageError(`--focus-coordinate ${coordinate.slice(0, 40)}: not a landmark bin ORDERING:LEVELS (e.g. 2.0.1:0.1.2)`);
    }
    let capacity: number | undefined;
    if (values['focus-capacity'] !== undefined) {
      capacity = Number(values['focus-capacity']);
      if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0xffff) throw new UsageError('--focus-capacity must be an integer from 1 to 65535');
    }
    const declared = (await loadIdentity(dir)).config.requiredKinds.some((k) => k.id === DISCO_REGISTRATION_KIND || k.name === DISCO_REGISTRATION_NAME);
    let disco: ReturnType<typeof discoUsage> | undefined;
    if (focus || declared) {
      const share = usages.find((u): u is ShareUsage => u instanceof ShareUsage);
      const directory = usages.find((u): u is CapabilityDirectory => u instanceof CapabilityDirectory);
      if (sip) {
        disco = discoUsage({ sip, focus, conferences, ...(capacity !== undefined ? { capacity } : {}), ...(coordinate !== undefined ? { coordinate } : {}), ...(share ? { share } : {}), ...(directory ? { directory } : {}) });
        usages.push(...disco.plugins);
      } else {
        if (!share) usages.push(new ShareUsage());
        if (!directory) usages.push(new CapabilityDirectory());
      }
    }
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
        diagnostics,
      }));
      await node.start();
    } catch (err) {
      await enrollment?.close();
      throw err;
    }
    io.stdout.write(`node ${toHex(node.nodeId)} joined overlay ${node.params.overlayName}\n`);
    for (const a of node.addresses) io.stdout.write(`listening ${a.kind}:${a.address.host}:${a.address.port}\n`);
    const fe = sip?.frontEnd;
    if (fe) io.stdout.write(`sip front end udp,tcp:${fe.uaAddress.host}:${fe.uaAddress.port} peers tls:${fe.peerAddress.host}:${fe.peerAddress.port}\n`);
    if (disco?.isFocus) io.stdout.write(`disco focus capacity ${disco.capacity}${disco.conferenceNames().map((c) => ` conference sip:${c}`).join('')}\n`);
    let status;
    try {
      status = statusAt ? await serveStatus(node, statusAt) : undefined;
    } catch (err) {
      await node.leave();
      await enrollment?.close();
      throw new Error(`--status ${statusAt!.host}:${statusAt!.port}: ${(err as Error).message}`, { cause: err });
    }
    if (status) io.stdout.write(`status page: ${status.url}\n`);
    const signal = await untilSignal();
    await status?.close();
    log.info('leaving the overlay', { signal });
    await node.leave();
    await enrollment?.close();
    io.stdout.write('left the overlay\n');
    return 0;
  },
};
