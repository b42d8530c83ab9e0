// A connected loopback pair for tests that write to a socket behind a peer that reads late.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

const servers: Server[] = [];
const opened: Socket[] = [];

/**
 * `ours` (the accepted side, written to; with `highWaterMark`, its stream's mark) and `peer` (paused: reads
 * nothing until resumed). closeSocketPairs() ends them all.
 */
export async function socketPair(highWaterMark?: number): Promise<{ ours: Socket; peer: Socket }> {
  const server = createServer(highWaterMark === undefined ? {} : { highWaterMark });
  servers.push(server);
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const peer = connect(port, '127.0.0.1');
  peer.pause();
  const [ours] = await accepted;
  opened.push(ours, peer);
  return { ours, peer };
}

export async function closeSocketPairs(): Promise<void> {
  for (const s of opened.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
}
