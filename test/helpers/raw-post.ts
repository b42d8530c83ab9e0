// A POST on a raw socket, for comparing answers byte for byte (the fast lanes against Fastify's routes).
import { connect } from 'node:net';

/**
 * One request on its own connection to the server at `url`; the answer as written, without its Date
 * header. The body goes with its content-length unless the headers ask for `transfer-encoding: chunked`
 * (then in two chunks).
 */
export function rawPost(url: string, path: string, body: string, headers: Record<string, string>): Promise<string> {
  const { port } = new URL(url);
  const chunked = headers['transfer-encoding'] === 'chunked';
  const length = chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) };
  const head = Object.entries({ host: `127.0.0.1:${port}`, ...length, ...headers, connection: 'close' })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const half = Math.floor(body.length / 2);
  const chunk = (s: string): string => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
  const payload = chunked ? `${chunk(body.slice(0, half))}${chunk(body.slice(half))}0\r\n\r\n` : body;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(`POST ${path} HTTP/1.1\r\n${head}\r\n${payload}`));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1').replace(/^date: .*\r\n/im, '')));
  });
}
