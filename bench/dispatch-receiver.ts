// The receiver of the dispatcher benchmarks, in a process of its own (as a real receiver is): it answers
// every request at once and records when delivery `n` first arrived (ms since the epoch, so that other
// processes' clocks compare). Sharing a process with the sender or the server under test slowed the
// reference loop to a fraction of its speed.
// Messages (IPC): {type: 'expect', from, count} → {type: 'expecting'}, then {type: 'arrived', times} once
// deliveries from..from+count-1 all arrived (times[i] is delivery from + i's).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const now = (): number => performance.timeOrigin + performance.now();
const send = (m: unknown): void => void process.send?.(m);

let from = 0;
let times: Float64Array = new Float64Array(0);
let missing = 0;

/** Delivery `n` of a body: the `n` field of a form body, or of a JSON object. */
function deliveryNumber(body: string): number {
  if (body.startsWith('{')) return Number((JSON.parse(body) as { n: unknown }).n);
  const m = /(?:^|&)n=(\d+)/.exec(body);
  return m ? Number(m[1]) : NaN;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.end('ok');
    const i = deliveryNumber(Buffer.concat(chunks).toString()) - from;
    if (i >= 0 && i < times.length && times[i] === 0) {
      times[i] = now();
      if (--missing === 0) send({ type: 'arrived', times: Array.from(times) });
    }
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => send({ type: 'ready', port: (server.address() as AddressInfo).port }));
process.on('message', (m: { type: string; from: number; count: number }) => {
  if (m.type !== 'expect') return;
  from = m.from;
  times = new Float64Array(m.count);
  missing = m.count;
  send({ type: 'expecting' });
});
process.on('disconnect', () => process.exit(0));
