// A connected loopback pair for tests that write to a socket behind a peer that reads late.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

const servers: Server[] = [];
const opened: Socket[] = [];

/**
 * `ours` (the accepted side, written to; with `highWaterMark`, its stream's mark) and `peer` (connected, paused:
 * reads nothing until resumed). closeSocketPairs() ends them all.
 */
export async function socketPair(highWaterMark?: number): Promise<{ ours: Socket; peer: Socket }> {
  const server = createServer(highWaterMark === undefined ? {} : { highWaterMark });
  servers.push(server);
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const peer = connect(port, '127.0.0.1');
  peer.pause();
  // Connected on both sides: a peer still `connecting` defers what is done to it (resetAndDestroy waits for it).
  const [[ours]] = await Promise.all([accepted, once(peer, 'connect')]);
  opened.push(ours, peer);
  return { ours, peer };
}

/** Resumes `peer` and reads until `bytes` have come: all of them, in order. */
export async function readAll(peer: Socket, bytes: number): Promise<Buffer> {
  const got: Buffer[] = [];
  let n = 0;
  peer.on('data', (d: Buffer) => {
    got.push(d);
    n += d.length;
  });
  peer.resume();
  while (n < bytes) await once(peer, 'data');
  return Buffer.concat(got);
}

export async function closeSocketPairs(): Promise<void> {
  for (const s of opened.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
}
