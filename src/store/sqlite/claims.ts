// The claims of the sqlite delivery queue, kept in memory. A data directory belongs to one process (the
// lock in sqlite.ts), so no other worker can take a delivery and a claim needs no write: a delivery stays
// `pending` on disk while it is attempted, and a process that dies leaves nothing to hand back. That is a
// row update and three index changes fewer per delivery than a claim on disk.

/** A delivery this process is attempting. */
export interface Claim {
  seq: number;
  leaseUntil: number;
  /** The attempts column as claimed: finish appends to it without reading the row again. */
  attempts: string;
  orderKey: string | null;
}

export class ClaimBook {
  private readonly byId = new Map<string, Claim>();
  /** Changes of the transaction being built (undefined outside one), undone if it rolls back. */
  private undo: Array<() => void> | undefined;

  get(id: string): Claim | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  set(id: string, claim: Claim): void {
    const before = this.byId.get(id);
    this.byId.set(id, claim);
    this.undo?.push(() => (before ? this.byId.set(id, before) : this.byId.delete(id)));
  }

  delete(id: string): void {
    const before = this.byId.get(id);
    if (!before) return;
    this.byId.delete(id);
    this.undo?.push(() => this.byId.set(id, before));
  }

  /** A transaction starts: changes from now on are undone if it rolls back. */
  begin(): void {
    this.undo = [];
  }

  /** The transaction committed: its changes stand. */
  commit(): void {
    this.undo = undefined;
  }

  /** The transaction rolled back: its changes are undone, newest first. */
  rollback(): void {
    for (const undo of (this.undo ?? []).reverse()) undo();
    this.undo = undefined;
  }

  /** Seqs (a JSON array, for json_each) of the claims whose lease runs past `now`, or of all claims. */
  seqs(now = -Infinity): string {
    const seqs: number[] = [];
    for (const c of this.byId.values()) if (c.leaseUntil > now) seqs.push(c.seq);
    return JSON.stringify(seqs);
  }

  /** The earliest lease end (a lapsed claim may be claimed again then); undefined without claims. */
  firstLeaseEnd(): number | undefined {
    let first: number | undefined;
    for (const c of this.byId.values()) if (first === undefined || c.leaseUntil < first) first = c.leaseUntil;
    return first;
  }

  /** Drops the claims whose lease ended by `now`; returns how many. */
  dropLapsed(now: number): number {
    let dropped = 0;
    for (const [id, c] of this.byId) {
      if (c.leaseUntil > now) continue;
      this.byId.delete(id);
      dropped++;
    }
    return dropped;
  }
}
