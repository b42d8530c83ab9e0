// WebSub test actors: subscribers that answer verification GETs, publishers serving a topic URL,
// and a form POST to the hub.
import type { Hookhub } from '../../src/server.js';
import { Receiver, type Received } from './receiver.js';
import { until } from './wait.js';

export type Form = Record<string, string> | Array<[string, string]>;

export async function hubPost(hub: Hookhub, form: Form, path = '/hub', headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`${hub.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

export const queryOf = (r: Received): URLSearchParams => new URL(r.url, 'http://x').searchParams;

/** How a subscriber answers verification GETs. */
export type Verifier = (query: URLSearchParams) => { status: number; body: string };
export const echoChallenge: Verifier = (q) => ({ status: 200, body: q.get('hub.challenge') ?? '' });

/** A real local subscriber: GETs are verifications (answered by `verifier`), POSTs notifications (answered `postStatus`). */
export class Subscriber {
  verifier: Verifier = echoChallenge;
  postStatus = 200;
  private constructor(readonly receiver: Receiver) {}

  static async start(verifier: Verifier = echoChallenge): Promise<Subscriber> {
    let self: Subscriber | undefined;
    const receiver = await Receiver.start((req, res) => {
      if (req.method === 'GET') {
        const answer = self!.verifier(queryOf(req));
        res.writeHead(answer.status, { 'content-type': 'text/plain' });
        res.end(answer.body);
      } else {
        res.writeHead(self!.postStatus);
        res.end();
      }
    });
    self = new Subscriber(receiver);
    self.verifier = verifier;
    return self;
  }

  get url(): string {
    return this.receiver.url;
  }

  /** Verification (and denial) GETs, their query parsed. */
  get gets(): Array<{ path: string; query: URLSearchParams; raw: string }> {
    return this.receiver.received.filter((r) => r.method === 'GET').map((r) => ({ path: r.url.split('?')[0]!, query: queryOf(r), raw: r.url }));
  }

  get notifications(): Received[] {
    return this.receiver.received.filter((r) => r.method === 'POST');
  }

  waitGets(n: number, timeoutMs = 10_000) {
    return until(() => (this.gets.length >= n ? this.gets : undefined), `${n} GETs at the subscriber (have ${this.gets.length})`, timeoutMs);
  }

  waitNotifications(n: number, timeoutMs = 10_000): Promise<Received[]> {
    return until(
      () => (this.notifications.length >= n ? this.notifications : undefined),
      `${n} notifications at the subscriber (have ${this.notifications.length})`,
      timeoutMs,
    );
  }
}

/** A publisher serving `path` with the given body and content type (changeable between pings). */
export class Publisher {
  contentType = 'text/plain';
  body: Buffer = Buffer.from('hello');
  status = 200;
  private constructor(readonly receiver: Receiver) {}

  static async start(): Promise<Publisher> {
    let self: Publisher | undefined;
    const receiver = await Receiver.start((_req, res) => {
      res.writeHead(self!.status, { 'content-type': self!.contentType });
      res.end(self!.body);
    });
    self = new Publisher(receiver);
    return self;
  }

  topic(path = '/feed'): string {
    return `${this.receiver.url}${path}`;
  }

  get fetches(): Received[] {
    return this.receiver.received;
  }
}

export interface SubscriptionView {
  id: string;
  callback: string;
  topic: string;
  state: string;
  leaseSeconds: number;
  leaseExpiresAt: string | null;
  signed: boolean;
  pendingRequest: string | null;
  lastDelivery: { ok: boolean; status?: number; final: boolean; deliveryId: string; error?: string } | null;
}

export async function listSubscriptions(hub: Hookhub, topic?: string, headers: Record<string, string> = {}): Promise<SubscriptionView[]> {
  const res = await fetch(`${hub.url}/api/subscriptions${topic === undefined ? '' : `?topic=${encodeURIComponent(topic)}`}`, { headers });
  if (res.status !== 200) throw new Error(`GET /api/subscriptions answered ${res.status}`);
  return ((await res.json()) as { subscriptions: SubscriptionView[] }).subscriptions;
}

/** Subscribes and waits until the hub lists the subscription as active (verification done). */
export async function subscribeActive(hub: Hookhub, callback: string, topic: string, extra: Record<string, string> = {}): Promise<SubscriptionView> {
  const res = await hubPost(hub, { 'hub.mode': 'subscribe', 'hub.callback': callback, 'hub.topic': topic, ...extra });
  if (res.status !== 202) throw new Error(`subscribe answered ${res.status}: ${res.text}`);
  return until(
    async () => (await listSubscriptions(hub, topic)).find((s) => s.callback === callback && s.state === 'active' && s.pendingRequest === null),
    `active subscription of ${callback} to ${topic}`,
  );
}
