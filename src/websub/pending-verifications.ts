// Bounds the verification GETs (and denial notices) waiting to reach subscribers' callbacks, in all
// and per callback host: a burst of subscribe requests to a hanging callback cannot queue without end.
// Counted on this node; a refused request is answered at once and nothing is stored.

export type PendingRefusal = { status: 429 | 503; reason: string };

export class PendingVerifications {
  private readonly byHost = new Map<string, number>();
  private total = 0;

  constructor(private readonly max: number, private readonly perHost: number) {}

  /** Why one more verification to this callback must wait, or undefined when there is room. */
  refusal(callback: string): PendingRefusal | undefined {
    if (this.total >= this.max) {
      return { status: 503, reason: `too many verifications of intent pending (${this.max}); try again later` };
    }
    if ((this.byHost.get(hostOf(callback)) ?? 0) >= this.perHost) {
      return { status: 429, reason: `too many verifications of intent pending for this callback host (${this.perHost}); try again later` };
    }
    return undefined;
  }

  /** Counts one verification until the returned function is called. */
  add(callback: string): () => void {
    const host = hostOf(callback);
    this.total++;
    this.byHost.set(host, (this.byHost.get(host) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byHost.get(host) ?? 1) - 1;
      if (left > 0) this.byHost.set(host, left);
      else this.byHost.delete(host);
    };
  }

  get size(): number {
    return this.total;
  }
}

function hostOf(callback: string): string {
  try {
    return new URL(callback).hostname.toLowerCase();
  } catch {
    return callback;
  }
}
