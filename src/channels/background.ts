// The work the channels start and do not wait for (history appends, state drops, channel destroys, the
// application's notifications): tracked, so that the server's close waits for it before the store
// closes, and refused once the channels are closed (the store is about to go).
import type { FastifyBaseLogger } from 'fastify';

export class Background {
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly log: FastifyBaseLogger) {}

  /** Starts `work` now (in this turn); its failure is logged as `what`. Skipped once closed. */
  run(what: string, fields: Record<string, unknown>, work: () => Promise<unknown>): void {
    if (this.closed) {
      this.log.debug(fields, `${what}: skipped, the channels are closed`);
      return;
    }
    let started: Promise<unknown>;
    try {
      started = work();
    } catch (err) {
      started = Promise.reject(err);
    }
    const tracked: Promise<void> = started.then(
      () => void this.pending.delete(tracked),
      (err: unknown) => {
        this.pending.delete(tracked);
        this.log.error({ err, ...fields }, what);
      },
    );
    this.pending.add(tracked);
  }

  /** Resolves once nothing is pending (work that settles may start more), or after `maxMs`. */
  async settled(maxMs = Infinity): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (this.pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      const expired = left === Infinity ? undefined : new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
      await Promise.race([Promise.allSettled([...this.pending]), ...(expired ? [expired] : [])]);
      clearTimeout(timer);
    }
  }

  /** What was started is waited for (up to `maxMs`: a store that does not answer does not hold the close); nothing more starts. */
  async close(maxMs: number): Promise<void> {
    await this.settled(maxMs);
    this.closed = true;
    if (this.pending.size > 0) this.log.warn({ pending: this.pending.size }, 'channel work still under way at close');
  }
}
