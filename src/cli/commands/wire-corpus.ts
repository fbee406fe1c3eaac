/**
 * `reload-node wire-corpus --out DIR [--overlay NAME]`: writes the golden corpus of signed
 * RELOAD messages (src/wire/corpus.ts), one UDP data frame per file, plus the overlay CA's
 * certificate (ca.pem) that verifies their signatures.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateToPem } from '../../../certs/ca.js';
import { messageCodeName } from '../../wire/constants.js';
import { CORPUS_OVERLAY, buildCorpus } from '../../wire/corpus.js';
import { type Command, parseOptions, required } from '../command.js';

export const wireCorpusCommand: Command = {
  name: 'wire-corpus',
  summary: 'write one signed, framed RELOAD message per file (every RFC 6940 request/answer + errors)',
  usage: `
usage: reload-node wire-corpus --out DIR [--overlay NAME]

Writes DIR/NN-name.bin (e.g. 01-probe_req.bin): each file is one UDP simple-reliability
data frame (RFC 6940 §6.6.2) holding a complete RELOAD message signed with a fresh overlay
CA's certificates, and DIR/ca.pem, the CA certificate that verifies them.

  --out DIR        directory to write (created if missing)
  --overlay NAME   overlay instance name (default ${CORPUS_OVERLAY})

Inspect a file with: reload-node decode DIR/07-store_req.bin
`,
  async run(argv, io) {
    const { values } = parseOptions(argv, { out: { type: 'string' }, overlay: { type: 'string' } });
    const out = required(values, 'out');
    const overlay = typeof values.overlay === 'string' ? values.overlay : CORPUS_OVERLAY;
    const corpus = buildCorpus({ overlay });
    await mkdir(out, { recursive: true });
    for (const e of corpus.entries) {
      await writeFile(join(out, e.fileName), e.frame);
      io.stdout.write(`${e.fileName}\t${messageCodeName(e.code)}\t${e.frame.length} bytes\n`);
    }
    await writeFile(join(out, 'ca.pem'), certificateToPem(corpus.caCertificate));
    io.stdout.write(`ca.pem\toverlay ${corpus.overlay} CA\n`);
    return 0;
  },
};
