/** reload-node enroll: obtain a node identity from an overlay's enrollment server. */
import { promises as fs } from 'node:fs';
import { createSelfSignedIdentity, enroll } from '../../../certs/enrollment-client.js';
import { identityPaths } from '../../../certs/files.js';
import { toHex } from '../../wire/codec.js';
import { type Command, UsageError, parseOptions, required } from '../command.js';

const usage = `
usage: reload-node enroll --url CONFIG-URL --user NAME --password PW --out DIR [options]

Fetches the overlay configuration from CONFIG-URL (e.g.
https://127.0.0.1:6084/.well-known/reload-config), checks its signature, makes a key and a
certificate request, enrolls at the configuration's enrollment server and saves the
identity to DIR: cert.pem, key.pem (mode 0600), config.xml (exactly as received) and
root.pem (the overlay CA). \`reload-node start --identity DIR\` uses it.

  --url URL         where the configuration is served
  --user NAME       user name (user@domain)
  --password PW     account password
  --out DIR         identity directory to write
  --ca-file FILE    PEM trust anchor(s) for the HTTPS server certificate (default: system CAs)
  --nodeids N       number of Node-IDs to ask for (default 1)
  --landmark-bin BIN  the measured landmark bin (e.g. 2.0.1:0.1.2, see topology/landmarks),
                    sent as the form field landmark-bin: an overlay with landmarks then
                    gives a Node-ID with that bin's prefix
  --self-signed     make a self-signed identity instead (overlays permitting it; no password)
`;

export const enrollCommand: Command = {
  name: 'enroll',
  summary: 'enroll at an overlay and save the node identity (certificate, key, configuration)',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      url: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      out: { type: 'string' },
      'ca-file': { type: 'string' },
      nodeids: { type: 'string' },
      'landmark-bin': { type: 'string' },
      'self-signed': { type: 'boolean' },
    });
    const landmarkBin = values['landmark-bin'];
    if (landmarkBin !== undefined && !/^[0-9]{1,2}(\.[0-9]{1,2})*:[0-9]{1,2}(\.[0-9]{1,2})*$/.test(String(landmarkBin))) {
      throw new UsageError(`--landmark-bin ${String(landmarkBin).slice(0, 40)}: not ORDERING:LEVELS (e.g. 2.0.1:0.1.2)`);
    }
    const configUrl = required(values, 'url');
    try {
      if (new URL(configUrl).protocol !== 'https:') throw new UsageError(`--url ${configUrl}: must be an https: URL`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`--url ${configUrl}: not a URL`);
    }
    const userName = required(values, 'user');
    const outDir = required(values, 'out');
    const selfSigned = values['self-signed'] === true;
    let nodeIdCount = 1;
    if (values.nodeids !== undefined) {
      const t = String(values.nodeids);
      if (!/^[0-9]{1,3}$/.test(t) || Number(t) < 1) throw new UsageError(`--nodeids ${t}: not a positive integer`);
      nodeIdCount = Number(t);
    }
    let ca: string | undefined;
    const caFile = values['ca-file'];
    if (typeof caFile === 'string') {
      try {
        ca = await fs.readFile(caFile, 'utf8');
      } catch (err) {
        throw new UsageError(`--ca-file ${caFile}: ${(err as Error).message}`);
      }
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca-file ${caFile}: holds no PEM certificate`);
    }
    const id = selfSigned
      ? await createSelfSignedIdentity({ configUrl, userName, outDir, ca, nodeIdCount })
      : await enroll({
          configUrl,
          userName,
          password: required(values, 'password'),
          outDir,
          ca,
          nodeIdCount,
          ...(landmarkBin !== undefined ? { landmarkBin: String(landmarkBin) } : {}),
        });
    const p = identityPaths(outDir);
    io.stdout.write(
      [
        `enrolled ${userName} in overlay ${id.config.instanceName}${selfSigned ? ' (self-signed)' : ''}`,
        ...id.nodeIds.map((n) => `  Node-ID      ${toHex(n)}`),
        `  certificate  ${p.cert}`,
        `  key          ${p.key}`,
        `  config       ${p.config}`,
        `  root         ${p.root}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
