/** reload-node demo: a whole overlay on loopback, on embedded defaults (what `npm start` runs). */
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_DEFAULTS, runDemo } from '../../demo/demo.js';
import { type Command, UsageError, parseOptions } from '../command.js';
import { createLogger } from '../logging.js';
import { untilSignal } from '../node-options.js';

const usage = `
usage: reload-node demo [--peers N] [--overlay NAME] [--keep] [--no-sip] [--no-conference] [--log-level LEVEL]

Creates an overlay in a temporary directory (CA, signed configuration), starts its
enrollment server and bootstrap peer, enrolls and starts the other peers on loopback TLS,
each with a SIP front end and a status page, registers the SIP users alice and bob (demo
phones that answer calls) and a conference (DisCo) on 3 focus-capable peers, prints every
step and the addresses to try, and runs until Ctrl-C, when every peer leaves the overlay
cleanly.

options:
  --peers N          peers including the bootstrap peer (default ${DEMO_DEFAULTS.peers})
  --overlay NAME     overlay name (default ${DEMO_DEFAULTS.overlay})
  --keep             keep the temporary directory (identities, configuration) afterwards
  --no-sip           no SIP front ends, phones or conference
  --no-conference    no conference
  --log-level LEVEL  node logs on stderr (default warn)
`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a demo overlay on loopback (what npm start runs)',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      peers: { type: 'string' },
      overlay: { type: 'string' },
      keep: { type: 'boolean' },
      'no-sip': { type: 'boolean' },
      'no-conference': { type: 'boolean' },
      'log-level': { type: 'string', default: 'warn' },
    });
    const peers = values.peers === undefined ? DEMO_DEFAULTS.peers : Number(values.peers);
    if (!Number.isInteger(peers) || peers < 2 || peers > 64) throw new UsageError('--peers must be a whole number 2..64');
    const out = (line: string): void => void io.stdout.write(`[demo] ${line}\n`);
    const demo = await runDemo({
      peers,
      overlay: typeof values.overlay === 'string' ? values.overlay : DEMO_DEFAULTS.overlay,
      keep: values.keep === true,
      sip: values['no-sip'] !== true,
      conference: values['no-conference'] !== true,
      log: createLogger(String(values['log-level'])),
      out,
    });
    const o = demo.overlay;
    // Paths as short as they can be from where the demo runs (the project directory for `npm start`).
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const shown = (p: string): string => {
      const r = relative(process.cwd(), p);
      return r === '' || r.startsWith('..') || isAbsolute(r) ? p : r;
    };
    const cli = `node ${shown(join(root, 'dist', 'src', 'cli', 'main.js'))}`;
    const scenario = shown(join(root, 'src', 'demo', 'sipp', 'call.xml'));
    out('');
    out('the overlay is up. Addresses:');
    for (const [i, p] of demo.peers.entries()) {
      out(`  peer ${i + 1}: status page ${p.statusUrl}${p.sip ? `  SIP udp/tcp ${p.sip.host}:${p.sip.port}` : ''}`);
    }
    out('');
    out('In another terminal, try:');
    // Calls go through a peer no phone registered at, so they cross the overlay.
    const far = demo.peers.find((_, i) => !demo.phones.some((ph) => ph.peer === i)) ?? demo.peers[0];
    if (far?.sip && demo.phones.length > 0) {
      const sip = `${far.sip.host}:${far.sip.port}`;
      out(`  call alice with sipp: sipp -sn uac -s alice ${sip} -m 1`);
      if (demo.conference) {
        out(`  join the conference ${demo.conference.uri} with 3 sipp callers: sipp -sf ${scenario} -s ${demo.conference.user} ${sip} -m 3 -l 3 -d 20000`);
      }
      out(`  a softphone: SIP account bob@${o} (or alice@${o}), no password, proxy/registrar ${sip} (UDP or TCP)`);
      out(`  fetch alice's registration: ${cli} fetch --identity ${demo.dir}/bob --kind SIP-REGISTRATION --resource alice@${o}`);
    }
    out(`  ${cli} diag path-track --identity ${demo.dir}/alice --to resource:alice@${o}`);
    out(`  ${cli} store --identity ${demo.dir}/alice --kind 0xF0000100 --resource alice@${o} --value hello`);
    out(`  ${cli} fetch --identity ${demo.dir}/bob --kind 0xF0000100 --resource alice@${o}`);
    out('press Ctrl-C to stop (every peer leaves the overlay cleanly)');
    await untilSignal();
    await demo.stop();
    return 0;
  },
};
