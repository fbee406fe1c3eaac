/**
 * Running `reload-node` as a child process (built CLI in dist/): start a peer, read the
 * Node-ID and listening address it prints, kill it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface PeerProcess {
  child: ChildProcess;
  nodeId: string;
  /** First listening address: kind, host, port. */
  listen: { kind: string; host: string; port: number };
  output(): string;
  exited: Promise<number | null>;
}

/** Spawns `reload-node start ARGS` and resolves once it printed its Node-ID and address. */
export function startPeer(args: string[], timeoutMs = 30_000): Promise<PeerProcess> {
  const child = spawn(process.execPath, [cliPath(), 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`peer did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const id = /node ([0-9a-f]+) joined/.exec(out);
      const l = /listening (\w+):([^\s:]+):(\d+)/.exec(out);
      if (id && l) {
        clearTimeout(timer);
        resolve({
          child,
          nodeId: id[1]!,
          listen: { kind: l[1]!, host: l[2]!, port: Number(l[3]) },
          output: () => out,
          exited,
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => void (out += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`peer exited (${code}) before starting:\n${out}`));
    });
  });
}

export function cliPath(): string {
  return fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
}
