/** reload-node enroll: obtain a node identity from an overlay's enrollment server. */
import { promises as fs } from 'node:fs';
import { createSelfSignedIdentity, enroll } from '../../../certs/enrollment-client.js';
import { identityPaths } from '../../../certs/files.js';
import { LandmarkBinError, formatBin, parseBin } from '../../../topology/landmarks/binning.js';
import { DEFAULT_PROBE_SAMPLES, type LandmarkProbe, MAX_PROBE_SAMPLES, probeBin } from '../../../topology/landmarks/probe.js';
import type { OverlayConfiguration } from '../../config/types.js';
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
  --landmark-bin BIN  use this landmark bin (e.g. 2.0.1:0.1.2, see topology/landmarks)
                    instead of measuring one
  --landmark-samples N  probes per landmark when measuring (default ${DEFAULT_PROBE_SAMPLES}, at most ${MAX_PROBE_SAMPLES})
  --no-landmarks    do not measure; enroll without a landmark bin (random Node-ID)
  --self-signed     make a self-signed identity instead (overlays permitting it; no password)

Landmarks: when the configuration lists landmarks, enroll first measures the round trip to
each one without credentials (a TCP connect to a tls/tcp landmark, a simple-reliability
ack from a udp one; the smallest of N probes), prints the RTTs, and sends the resulting
bin as the form field landmark-bin; the enrollment server then issues a Node-ID with that
bin's prefix, so nodes close in the network sit close on the ring. Unreachable landmarks
sort last; when none answers, no bin is sent.
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
      'landmark-samples': { type: 'string' },
      'no-landmarks': { type: 'boolean' },
      'self-signed': { type: 'boolean' },
    });
    const landmarkBin = values['landmark-bin'];
    if (landmarkBin !== undefined && !/^[0-9]{1,2}(\.[0-9]{1,2})*:[0-9]{1,2}(\.[0-9]{1,2})*$/.test(String(landmarkBin))) {
      throw new UsageError(`--landmark-bin ${String(landmarkBin).slice(0, 40)}: not ORDERING:LEVELS (e.g. 2.0.1:0.1.2)`);
    }
    const noLandmarks = values['no-landmarks'] === true;
    let samples = DEFAULT_PROBE_SAMPLES;
    const samplesText = values['landmark-samples'];
    if (samplesText !== undefined) {
      const t = String(samplesText);
      if (!/^[0-9]{1,3}$/.test(t) || Number(t) < 1 || Number(t) > MAX_PROBE_SAMPLES) {
        throw new UsageError(`--landmark-samples ${t.slice(0, 40)}: not a whole number 1..${MAX_PROBE_SAMPLES}`);
      }
      samples = Number(t);
      if (noLandmarks || landmarkBin !== undefined) {
        throw new UsageError(`--landmark-samples: nothing is measured with ${noLandmarks ? '--no-landmarks' : '--landmark-bin'}`);
      }
    }
    if (noLandmarks && landmarkBin !== undefined) throw new UsageError('--landmark-bin and --no-landmarks contradict each other');
    if (values['self-signed'] === true && (landmarkBin !== undefined || samplesText !== undefined)) {
      throw new UsageError('--self-signed: the Node-ID comes from the key, a landmark bin does not apply');
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
    let sentBin: string | undefined;
    // Called by enroll() with the verified configuration: the landmark list comes from the
    // signed document, never from the network path.
    const binFor = async (config: OverlayConfiguration): Promise<string | undefined> => {
      if (landmarkBin !== undefined) {
        const text = String(landmarkBin);
        if (config.landmarks.length === 0) throw new UsageError(`--landmark-bin ${text}: overlay ${config.instanceName} lists no landmarks`);
        try {
          parseBin(text, config.landmarks.length);
        } catch (err) {
          if (err instanceof LandmarkBinError) throw new UsageError(`--landmark-bin ${text}: ${err.message}`);
          throw err;
        }
        return (sentBin = text);
      }
      if (noLandmarks || config.landmarks.length === 0) return undefined;
      const { bin, probes } = await probeBin(config.landmarks, { samples });
      io.stdout.write(probeReport(probes, samples));
      if (!bin) {
        io.stderr.write('warning: no landmark answered; enrolling without a landmark bin (random Node-ID)\n');
        return undefined;
      }
      return (sentBin = formatBin(bin));
    };
    const id = selfSigned
      ? await createSelfSignedIdentity({ configUrl, userName, outDir, ca, nodeIdCount })
      : await enroll({
          configUrl,
          userName,
          password: required(values, 'password'),
          outDir,
          ca,
          nodeIdCount,
          landmarkBin: binFor,
        });
    const p = identityPaths(outDir);
    io.stdout.write(
      [
        `enrolled ${userName} in overlay ${id.config.instanceName}${selfSigned ? ' (self-signed)' : ''}`,
        ...id.nodeIds.map((n) => `  Node-ID      ${toHex(n)}`),
        ...(sentBin !== undefined ? [`  landmark bin ${sentBin}`] : []),
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

function hostPort(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function ms(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : 'lost';
}

/** The measured RTTs, one line per landmark (configuration order). */
function probeReport(probes: readonly LandmarkProbe[], samples: number): string {
  const lines = probes.map((p) => {
    const where = `${p.transport} ${hostPort(p.address)}`.padEnd(28);
    const rtt = Number.isFinite(p.rttMs) ? `${p.rttMs.toFixed(2)} ms`.padStart(11) : 'unreachable'.padStart(11);
    const detail = Number.isFinite(p.rttMs) ? `  (samples ${p.samplesMs.map(ms).join(' ')})` : p.error ? `  (${p.error})` : '';
    return `  landmark ${String(p.landmark).padEnd(2)} ${where} ${rtt}${detail}`;
  });
  return [`landmark RTTs (smallest of ${samples} probe${samples === 1 ? '' : 's'} each):`, ...lines, ''].join('\n');
}
