// Requests on a raw socket (fetch would normalise them), for comparing answers byte for byte (the fast lanes
// against Fastify's routes) and for requests no client library sends (malformed paths, hand-made upgrades).
import { connect } from 'node:net';

/**
 * `request` written as is on its own connection to the server at `url`; the whole answer as written, once
 * the server closes the connection. `end`: half-close our side after the request (else the server must end
 * the connection by itself).
 */
export function rawExchange(url: string, request: string, end = true): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => (end ? socket.end(request) : socket.write(request)));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/**
 * One POST on its own connection; the answer as written, without its Date header. The body goes with its
 * content-length unless the headers ask for `transfer-encoding: chunked` (then in two chunks).
 */
export async function rawPost(url: string, path: string, body: string, headers: Record<string, string>): Promise<string> {
  const { port } = new URL(url);
  const chunked = headers['transfer-encoding'] === 'chunked';
  const length = chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) };
  const head = Object.entries({ host: `127.0.0.1:${port}`, ...length, ...headers, connection: 'close' })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const half = Math.floor(body.length / 2);
  const chunk = (s: string): string => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
  const payload = chunked ? `${chunk(body.slice(0, half))}${chunk(body.slice(half))}0\r\n\r\n` : body;
  const answer = await rawExchange(url, `POST ${path} HTTP/1.1\r\n${head}\r\n${payload}`);
  return answer.replace(/^date: .*\r\n/im, '');
}
