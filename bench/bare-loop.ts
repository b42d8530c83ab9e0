// The baseline of the dispatcher benchmarks: the same webhook requests Hookhub sends, sent straight to the
// receiver by a bare undici loop (no queue, no store, no retries), `concurrency` at a time.
import { request, type Agent } from 'undici';

/** The payload of delivery `n`: a form body, as Hookah's clients send it to /dispatch. */
export const deliveryFields = (n: number): string => `n=${n}&event=order.created&amount=42`;

/** Sends deliveries from..from+count-1; resolves with the seconds it took. */
export async function bareLoop(agent: Agent, target: string, from: number, count: number, concurrency: number): Promise<number> {
  const started = performance.now();
  let next = from;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < from + count) {
      const n = next++;
      // The headers Hookhub sends without a signing secret.
      const res = await request(target, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'user-agent': 'Hookhub-Webhooks/0.1', 'content-type': 'application/x-www-form-urlencoded', 'webhook-id': String(n), 'webhook-timestamp': '0' },
        body: deliveryFields(n),
      });
      await res.body.text();
    }
  }));
  return (performance.now() - started) / 1000;
}
