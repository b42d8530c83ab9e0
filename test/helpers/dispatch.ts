// Small clients for the dispatcher's HTTP API, shared by the dispatch tests.
import { until } from './wait.js';

export interface DeliveryJson {
  id: string;
  url: string;
  method: string;
  status: 'pending' | 'delivering' | 'succeeded' | 'failed';
  attempts: Array<{ at: string; status: number | null; duration_ms: number; error: string | null; response?: string }>;
  [k: string]: unknown;
}

export async function dispatchForm(base: string, fields: Record<string, string> | string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/dispatch`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof fields === 'string' ? fields : new URLSearchParams(fields).toString(),
  });
  return { status: res.status, json: (await res.json()) as { id?: string; error?: string } };
}

export async function dispatchJson(base: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/dispatch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { id?: string; error?: string } };
}

export async function getDelivery(base: string, id: string, headers: Record<string, string> = {}): Promise<{ status: number; json: DeliveryJson }> {
  const res = await fetch(`${base}/api/deliveries/${encodeURIComponent(id)}`, { headers });
  return { status: res.status, json: (await res.json()) as DeliveryJson };
}

export async function listDeliveries(base: string, query = '', headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/api/deliveries${query ? `?${query}` : ''}`, { headers });
  return { status: res.status, json: (await res.json()) as { deliveries: DeliveryJson[]; next_cursor?: string; error?: string } };
}

/** Polls the delivery log until the delivery reaches `status`. */
export function waitForStatus(base: string, id: string, status: DeliveryJson['status'], timeoutMs = 10_000): Promise<DeliveryJson> {
  return until(async () => {
    const d = await getDelivery(base, id);
    return d.json.status === status ? d.json : undefined;
  }, `delivery ${id} to be ${status}`, timeoutMs);
}
