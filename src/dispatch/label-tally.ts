// Counts per label value kept in a plain map on the hot path; the prom-client counter learns them when
// scraped. A labelled inc() hashes its labels on every call (children from labels() too), per delivery.
export class LabelTally {
  private readonly pending = new Map<string, number>();

  add(key: string): void {
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
  }

  /** Hands each key's count since the last drain to `fn`, then forgets them. */
  drain(fn: (key: string, n: number) => void): void {
    for (const [key, n] of this.pending) fn(key, n);
    this.pending.clear();
  }
}
