/**
 * A delaying UDP relay on loopback: datagrams sent to `address` go on to `target` after
 * `delayMs`, and the target's answers come back after `delayMs` too, so a round trip
 * through it takes at least 2 × delayMs. Each client gets its own socket towards the target
 * (the target sees one source per client, as without the relay). Lets tests give loopback
 * landmarks distinct RTTs without root (netem).
 */
import * as dgram from 'node:dgram';
import { systemClock } from '../../src/common/clock.js';
import type { LinkAddress } from '../../src/link/types.js';

export interface UdpRelay {
  /** Where clients send. */
  address: LinkAddress;
  /** Datagrams forwarded towards the target. */
  readonly forwarded: number;
  close(): Promise<void>;
}

function bind(socket: dgram.Socket): Promise<LinkAddress> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      const a = socket.address();
      resolve({ host: a.address, port: a.port });
    });
  });
}

export async function delayingUdpRelay(target: LinkAddress, delayMs: number): Promise<UdpRelay> {
  const front = dgram.createSocket('udp4');
  const backs = new Map<string, Promise<dgram.Socket>>();
  let forwarded = 0;
  let closed = false;
  const backFor = (client: dgram.RemoteInfo): Promise<dgram.Socket> => {
    const key = `${client.address}:${client.port}`;
    let b = backs.get(key);
    if (!b) {
      const s = dgram.createSocket('udp4');
      s.on('error', () => {});
      s.on('message', (msg) => {
        systemClock.setTimeout(() => {
          if (!closed) front.send(msg, client.port, client.address, () => {});
        }, delayMs);
      });
      b = bind(s).then(() => s);
      backs.set(key, b);
    }
    return b;
  };
  front.on('error', () => {});
  front.on('message', (msg, rinfo) => {
    const back = backFor(rinfo);
    systemClock.setTimeout(() => {
      void back.then((s) => {
        if (closed) return;
        forwarded++;
        s.send(msg, target.port, target.host, () => {});
      });
    }, delayMs);
  });
  const address = await bind(front);
  return {
    address,
    get forwarded() {
      return forwarded;
    },
    async close() {
      closed = true;
      front.close();
      for (const b of backs.values()) (await b).close();
    },
  };
}
