// Long-lived consumer connections (/stream, /sse, /ws): counted against --max-connections and closed on shutdown.
import { HookhubError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';

export interface OpenConnection {
  readonly transport: string;
  /** Ends the connection politely (final chunk, close frame). */
  shutdown(): void;
}

export class Connections {
  private readonly open = new Set<OpenConnection>();

  constructor(private readonly max: number, private readonly metrics: Metrics) {}

  /** Registers a connection or throws 503 when the server is full. Returns the release function. */
  admit(conn: OpenConnection): () => void {
    if (this.open.size >= this.max) throw new HookhubError('too_many_connections', `connection limit (${this.max}) reached`);
    this.open.add(conn);
    this.metrics.connections.labels(conn.transport).inc();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open.delete(conn);
      this.metrics.connections.labels(conn.transport).dec();
    };
  }

  /** admit without the release function (one closure less per connection): release with `leave`. */
  enter(conn: OpenConnection): void {
    if (this.open.size >= this.max) throw new HookhubError('too_many_connections', `connection limit (${this.max}) reached`);
    this.open.add(conn);
    this.metrics.connections.labels(conn.transport).inc();
  }

  /** Releases a connection `enter` registered; a second call does nothing. */
  leave(conn: OpenConnection): void {
    if (this.open.delete(conn)) this.metrics.connections.labels(conn.transport).dec();
  }

  get size(): number {
    return this.open.size;
  }

  count(transport: string): number {
    let n = 0;
    for (const c of this.open) if (c.transport === transport) n++;
    return n;
  }

  shutdownAll(): void {
    for (const c of [...this.open]) c.shutdown();
  }
}
