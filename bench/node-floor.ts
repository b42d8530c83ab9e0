// The floor of a Node fan-out, run beside Hookhub and nchan by bench/fanout.ts (BENCH_FLOOR=0 leaves it out):
// what any Node server pays for a paced message, with nothing of Hookhub's (no routing, store, channels,
// batching or limits). GET /sub/<ch> is an event stream, GET /ws/<ch> a WebSocket; POST /pub/<ch> frames
// the body once (an HTTP chunk, or an unmasked text frame) and writes the same bytes to every subscriber
// of the channel, one socket.write each, in the request's own turn. Not a server to use: no limits, no
// slow-consumer handling, no close handshake.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const streams = new Map<string, Socket[]>();
const sockets = new Map<string, Socket[]>();

function join(all: Map<string, Socket[]>, channel: string, socket: Socket): void {
  let list = all.get(channel);
  if (!list) all.set(channel, (list = []));
  list.push(socket);
  socket.on('close', () => {
    const at = list.indexOf(socket);
    if (at >= 0) list.splice(at, 1);
  });
  socket.on('error', () => socket.destroy());
}

function textFrame(body: Buffer): Buffer {
  const head = body.length < 126 ? Buffer.from([0x81, body.length]) : Buffer.from([0x81, 126, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([head, body]);
}

const httpChunk = (body: Buffer): Buffer => Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]);

const server = createServer((req, res) => {
  const [, kind, channel] = (req.url ?? '').split('/');
  if (req.method === 'GET' && kind === 'sub' && channel) {
    res.socket?.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n');
    join(streams, channel, req.socket);
    return;
  }
  if (req.method === 'POST' && kind === 'pub' && channel) {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const event = httpChunk(Buffer.from(`data: ${body.toString()}\n\n`));
      const frame = textFrame(body);
      for (const s of streams.get(channel) ?? []) s.write(event);
      for (const s of sockets.get(channel) ?? []) s.write(frame);
      res.writeHead(202, { 'content-length': '0' }).end();
    });
    return;
  }
  res.writeHead(404).end();
});

server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
  const [, kind, channel] = (req.url ?? '').split('/');
  const key = req.headers['sec-websocket-key'];
  if (kind !== 'ws' || !channel || typeof key !== 'string') return socket.destroy();
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
  socket.setNoDelay(true);
  // What the client sends (nothing, here) is read and dropped.
  socket.on('data', () => {});
  join(sockets, channel, socket);
});

server.keepAliveTimeout = 0;
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.send?.('listening'));
