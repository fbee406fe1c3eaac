/** reload-node demo: a whole overlay on loopback, on embedded defaults (what `npm start` runs). */
import { DEMO_DEFAULTS, runDemo } from '../../demo/demo.js';
import { type Command, UsageError, parseOptions } from '../command.js';
import { createLogger } from '../logging.js';
import { untilSignal } from '../node-options.js';

const usage = `
usage: reload-node demo [--peers N] [--overlay NAME] [--keep] [--log-level LEVEL]

Creates an overlay in a temporary directory (CA, signed configuration), starts its
enrollment server and bootstrap peer, enrolls and starts the other peers on loopback TLS,
prints every step and the addresses to try, and runs until Ctrl-C, when every peer leaves
the overlay cleanly.

options:
  --peers N          peers including the bootstrap peer (default ${DEMO_DEFAULTS.peers})
  --overlay NAME     overlay name (default ${DEMO_DEFAULTS.overlay})
  --keep             keep the temporary directory (identities, configuration) afterwards
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
      'log-level': { type: 'string', default: 'warn' },
    });
    const peers = values.peers === undefined ? DEMO_DEFAULTS.peers : Number(values.peers);
    if (!Number.isInteger(peers) || peers < 2 || peers > 64) throw new UsageError('--peers must be a whole number 2..64');
    const out = (line: string): void => void io.stdout.write(`[demo] ${line}\n`);
    const demo = await runDemo({
      peers,
      overlay: typeof values.overlay === 'string' ? values.overlay : DEMO_DEFAULTS.overlay,
      keep: values.keep === true,
      log: createLogger(String(values['log-level'])),
      out,
    });
    const first = demo.nodes[0]!;
    out('');
    out('the overlay is up. In another terminal, try (identities are in the working directory):');
    const o = first.params.overlayName;
    out(`  node dist/src/cli/main.js ping --identity ${demo.dir}/alice --to resource:hello --count 3`);
    out(`  node dist/src/cli/main.js store --identity ${demo.dir}/alice --kind 0xF0000100 --resource alice@${o} --value hello`);
    out(`  node dist/src/cli/main.js fetch --identity ${demo.dir}/bob --kind 0xF0000100 --resource alice@${o}`);
    out('press Ctrl-C to stop (every peer leaves the overlay cleanly)');
    await untilSignal();
    await demo.stop();
    return 0;
  },
};
