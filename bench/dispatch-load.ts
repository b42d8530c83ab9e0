// The load generator of the /dispatch benchmark, in a process of its own (the server under test has its
// process to itself): `concurrency` requests in flight posting deliveries to /dispatch, or an open loop at a
// fixed rate. Times are ms since the epoch (the receiver, another process, records arrivals the same way).
// Messages (IPC): {type: 'load', hubUrl, target, from, count, concurrency, batch} → {type: 'loaded', sent, accepted};
// {type: 'paced', hubUrl, target, from, count, rate} → {type: 'paced', sent}.
import { Agent, request } from 'undici';

const now = (): number => performance.timeOrigin + performance.now();
const send = (m: unknown): void => void process.send?.(m);

interface Load {
  type: 'load';
  hubUrl: string;
  target: string;
  from: number;
  count: number;
  concurrency: number;
  batch: number;
}

interface Paced {
  type: 'paced';
  hubUrl: string;
  target: string;
  from: number;
  count: number;
  rate: number;
}

/** `_url=<target>&` of a form body, encoded once per target. */
const urlFields = new Map<string, string>();

/** One delivery: a form body, as Hookah's clients send; a batch: a JSON array of the same fields. */
function dispatch(agent: Agent, m: Load | Paced, ns: number[]): Promise<void> {
  const batch = ns.length > 1;
  let urlField = urlFields.get(m.target);
  if (urlField === undefined) urlFields.set(m.target, (urlField = `_url=${encodeURIComponent(m.target)}&`));
  return request(`${m.hubUrl}/dispatch`, {
    dispatcher: agent,
    method: 'POST',
    headers: { 'content-type': batch ? 'application/json' : 'application/x-www-form-urlencoded' },
    body: batch
      ? JSON.stringify(ns.map((n) => ({ _url: m.target, n, event: 'order.created', amount: 42 })))
      : `${urlField}n=${ns[0]}&event=order.created&amount=42`,
  }).then(async (res) => {
    await res.body.text();
    if (res.statusCode !== 202) throw new Error(`dispatch answered ${res.statusCode}`);
  });
}

async function load(m: Load): Promise<void> {
  const sent = new Float64Array(m.count);
  const accepted = new Float64Array(m.count);
  const agent = new Agent({ connections: m.concurrency });
  let next = m.from;
  await Promise.all(Array.from({ length: m.concurrency }, async () => {
    while (next < m.from + m.count) {
      const ns: number[] = [];
      while (ns.length < m.batch && next < m.from + m.count) ns.push(next++);
      const at = now();
      for (const n of ns) sent[n - m.from] = at;
      await dispatch(agent, m, ns);
      const done = now();
      for (const n of ns) accepted[n - m.from] = done;
    }
  }));
  await agent.close();
  send({ type: 'loaded', sent: Array.from(sent), accepted: Array.from(accepted) });
}

/** Open loop: m.rate dispatches per second whatever the answers, in 5 ms ticks. */
async function paced(m: Paced): Promise<void> {
  const sent = new Float64Array(m.count);
  const agent = new Agent({ connections: 256 });
  const started = performance.now();
  let next = m.from;
  const pending: Array<Promise<void>> = [];
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(m.from + m.count, m.from + Math.floor(((performance.now() - started) / 1000) * m.rate));
      for (; next < due; next++) {
        sent[next - m.from] = now();
        pending.push(dispatch(agent, m, [next]));
      }
      if (next >= m.from + m.count) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  await Promise.all(pending);
  await agent.close();
  send({ type: 'paced', sent: Array.from(sent) });
}

process.on('message', (m: Load | Paced) => {
  (m.type === 'load' ? load(m) : paced(m)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
