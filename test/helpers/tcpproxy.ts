// A TCP proxy on loopback that a test can freeze: while frozen, no byte is forwarded on existing
// or new connections, and none is closed — what a replica sees when its path to the API server
// hangs (a stalled NAT, a partitioned node) rather than fails. TLS passes through untouched.
// Bytes that arrive while frozen are held and delivered in order when healed.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FreezableProxy {
  /** The proxy listens on 127.0.0.1:port. */
  port: number;
  /** Client connections accepted so far (each one is a TCP connect, and with TLS a handshake). */
  readonly accepted: number;
  freeze(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startFreezableProxy(target: { host: string; port: number }): Promise<FreezableProxy> {
  let frozen = false;
  const sockets = new Set<Socket>();
  /** What heal() must do: deliver held bytes, connect clients accepted while frozen. */
  const onHeal: (() => void)[] = [];

  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const forward = (from: Socket, to: Socket): void => {
    const held: Buffer[] = [];
    from.on('data', (d: Buffer) => {
      if (!frozen) return void to.write(d);
      if (held.length === 0) onHeal.push(() => to.write(Buffer.concat(held.splice(0))));
      held.push(d);
    });
  };

  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    track(client);
    const upstream = (): void => {
      if (client.destroyed) return;
      const up = connect(target.port, target.host);
      track(up);
      forward(client, up);
      forward(up, client);
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    };
    if (!frozen) return upstream();
    // Not even connected upstream until healed; what the client sends meanwhile is buffered by the socket.
    client.pause();
    onHeal.push(() => {
      upstream();
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');

  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    freeze: () => {
      frozen = true;
    },
    heal: () => {
      frozen = false;
      for (const f of onHeal.splice(0)) f();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
