// An EventSource (the `eventsource` package) that records what it receives.
import { EventSource } from 'eventsource';
import { until } from './wait.js';

export interface SseEvent {
  type: string;
  id: string;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  opened = 0;
  readonly source: EventSource;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }),
    });
    const record = (type: string) => (e: MessageEvent) => this.events.push({ type, id: e.lastEventId, data: String(e.data) });
    this.source.addEventListener('message', record('message'));
    this.source.addEventListener('gap', record('gap'));
    this.source.addEventListener('close', record('close'));
    this.source.addEventListener('open', () => this.opened++);
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
    this.source.close();
  }
}
