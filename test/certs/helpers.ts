/** Shared helpers of the certs/, config/ and CLI identity tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createServer } from 'node:net';
import type { CommandIO } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { type OverlayCA, createOverlayCA, generateRsaKey, issueCertificate } from '../../certs/ca.js';
import { type Credentials, makeCredentials } from '../../src/security/credentials.js';
import { Signer } from '../../src/security/signer.js';

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'reload-id-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CapturedIO extends CommandIO {
  out(): string;
  err(): string;
}

export function captureIO(): CapturedIO {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  return { stdout, stderr, stdin: new PassThrough(), out: () => o, err: () => e };
}

/** Runs `reload-node ARGS` in-process; returns the exit code and what it printed. */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIO();
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}


export interface Operator {
  ca: OverlayCA;
  credentials: Credentials;
  signer: Signer;
}

/** An overlay CA and an operator identity it certified (one Node-ID). */
export function makeOperator(overlay: string, nodeId = new Uint8Array(16).fill(0x42), userName = `operator@${overlay}`, ca = createOverlayCA(overlay)): Operator {
  const { privateKey, publicKey } = generateRsaKey();
  const der = issueCertificate(ca, { publicKey, userName, nodeIds: [nodeId] });
  const credentials = makeCredentials(der, privateKey);
  return { ca, credentials, signer: new Signer(credentials) };
}
