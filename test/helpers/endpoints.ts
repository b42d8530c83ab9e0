// Clients for the endpoints API and a receiver that counts requests in flight, shared by endpoint tests.
import type { ServerResponse } from 'node:http';
import { Receiver, type Received } from './receiver.js';
import { until } from './wait.js';

export interface EndpointJson {
  id: string;
  kind: 'origin' | 'prefix';
  state: 'closed' | 'open' | 'half_open' | 'disabled';
  circuit: string;
  disabled?: { at: string; reason: string };
  settings: Record<string, number>;
  limits: { concurrency: number; rate: number; burst: number };
  recent: { attempts: number; success_rate: number | null; mean_latency_ms: number };
}

const path = (base: string, id: string, rest = ''): string => `${base}/api/endpoints/${encodeURIComponent(id)}${rest}`;

export async function getEndpoint(base: string, id: string): Promise<{ status: number; json: EndpointJson }> {
  const res = await fetch(path(base, id));
  return { status: res.status, json: (await res.json()) as EndpointJson };
}

export async function putEndpoint(base: string, id: string, settings: unknown): Promise<{ status: number; json: EndpointJson & { error?: string } }> {
  const res = await fetch(path(base, id), { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });
  return { status: res.status, json: (await res.json()) as EndpointJson & { error?: string } };
}

export async function endpointAction(base: string, id: string, action: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(path(base, id, `/${action}`), { method: 'POST' });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export function waitForState(base: string, id: string, state: EndpointJson['state'], timeoutMs = 10_000): Promise<EndpointJson> {
  return until(async () => {
    const e = await getEndpoint(base, id);
    return e.status === 200 && e.json.state === state ? e.json : undefined;
  }, `endpoint ${id} to be ${state}`, timeoutMs);
}

/** A receiver that answers each request after `holdMs` and records the most requests it held at once. */
export async function slowReceiver(holdMs: number): Promise<{ receiver: Receiver; maxInFlight: () => number }> {
  let inFlight = 0;
  let max = 0;
  const receiver = await Receiver.start((_req: Received, res: ServerResponse) => {
    inFlight++;
    max = Math.max(max, inFlight);
    setTimeout(() => {
      inFlight--;
      res.writeHead(200);
      res.end('ok');
    }, holdMs);
  });
  return { receiver, maxInFlight: () => max };
}
