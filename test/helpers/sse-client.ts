// An EventSource (the `eventsource` package) that records what it receives. `cut()` is an outage as the
// client sees it: the open response ends (the socket to the server closes) and reconnects wait until
// `restore()`; the EventSource then reconnects by itself, with the Last-Event-ID it has.
import { EventSource } from 'eventsource';
import { until } from './wait.js';

export interface SseEvent {
  type: string;
  id: string;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  /** The Last-Event-ID header of each connection made (undefined: none sent). */
  readonly lastEventIds: Array<string | undefined> = [];
  opened = 0;
  readonly source: EventSource;
  private outage: Promise<void> | undefined;
  private endOutage: (() => void) | undefined;
  private endResponse: (() => void) | undefined;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.source = new EventSource(url, {
      fetch: async (input, init) => {
        while (this.outage) await this.outage;
        const sent = { ...(init?.headers as Record<string, string>), ...headers };
        this.lastEventIds.push(sent['Last-Event-ID'] ?? sent['last-event-id']);
        return this.cuttable(await fetch(input, { ...init, headers: sent }));
      },
    });
    const record = (type: string) => (e: MessageEvent) => this.events.push({ type, id: e.lastEventId, data: String(e.data) });
    for (const type of ['message', 'gap', 'reset', 'close']) this.source.addEventListener(type, record(type));
    this.source.addEventListener('open', () => this.opened++);
  }

  /** The response with a body this client can end (as a dropped connection does). */
  private cuttable(res: Response): Response {
    if (!res.body) return res;
    const reader = res.body.getReader();
    let ended = false;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.endResponse = () => {
          if (ended) return;
          ended = true;
          controller.close();
          void reader.cancel();
        };
      },
      pull: async (controller) => {
        const { value, done } = await reader.read();
        if (ended) return;
        if (done) {
          ended = true;
          controller.close();
        } else controller.enqueue(value);
      },
      cancel: () => reader.cancel(),
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  /** The connection drops and stays down until restore(). */
  cut(): void {
    this.outage ??= new Promise<void>((resolve) => (this.endOutage = resolve));
    this.endResponse?.();
  }

  restore(): void {
    const end = this.endOutage;
    this.outage = undefined;
    this.endOutage = undefined;
    end?.();
  }

  messages(): Array<{ id: string; json: Record<string, unknown> }> {
    return this.events.filter((e) => e.type === 'message').map((e) => ({ id: e.id, json: JSON.parse(e.data) as Record<string, unknown> }));
  }

  waitFor(n: number, type = 'message', timeoutMs = 10_000): Promise<SseEvent[]> {
    return until(() => {
      const list = this.events.filter((e) => e.type === type);
      return list.length >= n ? list : undefined;
    }, `${n} ${type} events`, timeoutMs);
  }

  waitOpen(times = 1): Promise<number> {
    return until(() => (this.opened >= times ? this.opened : undefined), `open #${times}`);
  }

  close(): void {
    this.restore();
    this.source.close();
  }
}
