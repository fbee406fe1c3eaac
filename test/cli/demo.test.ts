/**
 * `reload-node demo` (what `npm start` runs) brings an overlay up from nothing, the
 * commands it prints work from another process, and Ctrl-C (SIGINT) makes every peer leave.
 */
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { cliPath } from '../helpers/processes.js';

const run = promisify(execFile);

t.test('the demo overlay comes up, answers a client, and stops cleanly on SIGINT', async (t) => {
  const child = spawn(process.execPath, [cliPath(), 'demo', '--peers', '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => void child.kill('SIGKILL'));
  const end = Date.now() + 90_000;
  while (!/press Ctrl-C/.test(out)) {
    if (Date.now() > end) throw new Error(`demo did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  t.match(out, /enrollment server at https:\/\/127\.0\.0\.1:\d+\/\.well-known\/reload-config/, 'enrollment server started');
  t.equal(out.match(/enrolled as peer\d@/g)?.length, 4, 'four peers enrolled and joined');
  const dir = /working directory (\/\S+)/.exec(out)![1]!;
  const overlay = 'demo.reload.example';
  const store = await run(process.execPath, [cliPath(), 'store', '--identity', `${dir}/alice`, '--kind', '0xF0000100', '--resource', `alice@${overlay}`, '--value', 'hello']);
  t.match(store.stdout, /stored kind 4026532096 .*generation 1/, 'the printed store command works');
  const fetch = await run(process.execPath, [cliPath(), 'fetch', '--identity', `${dir}/bob`, '--kind', '0xF0000100', '--resource', `alice@${overlay}`, '--json']);
  const fetched = JSON.parse(fetch.stdout) as { values: { value: string; signer: { user: string } }[] };
  t.equal(fetched.values[0]?.value, 'hello', 'and bob fetches what alice stored');
  t.equal(fetched.values[0]?.signer.user, `alice@${overlay}`, 'signed by alice');
  child.kill('SIGINT');
  t.equal(await exited, 0, 'the demo exits 0 after SIGINT');
  t.equal(out.match(/ left$/gm)?.length, 4, 'every peer left the overlay');
  t.match(out, /demo stopped/);
});
