// What this node saw of one endpoint's attempts: the run of consecutive failures and the outcomes of the
// last window (in ten slices), which open the circuit, and the success rate and latency the API and
// /metrics show. Counted per node: the state they lead to is shared (endpoints.ts).

const SLICES = 10;

interface Slice {
  start: number;
  ok: number;
  failed: number;
  latencyMs: number;
}

export interface CircuitThresholds {
  /** Consecutive failures that open the circuit (0: not this rule). */
  failures: number;
  /** Failure rate in percent over the window that opens it (0: not this rule)… */
  failureRate: number;
  windowMs: number;
  /** …once the window holds at least this many attempts. */
  minAttempts: number;
}

export class AttemptWindow {
  consecutiveFailures = 0;
  private readonly slices: Slice[] = [];

  constructor(private readonly windowMs: number) {}

  record(ok: boolean, latencyMs: number, now: number): void {
    this.consecutiveFailures = ok ? 0 : this.consecutiveFailures + 1;
    const width = Math.max(1, Math.floor(this.windowMs / SLICES));
    const start = now - (now % width);
    let last = this.slices[this.slices.length - 1];
    if (!last || last.start !== start) this.slices.push((last = { start, ok: 0, failed: 0, latencyMs: 0 }));
    if (ok) last.ok++;
    else last.failed++;
    last.latencyMs += latencyMs;
    this.trim(now);
  }

  private trim(now: number): void {
    while (this.slices.length > 0 && (this.slices[0] as Slice).start <= now - this.windowMs) this.slices.shift();
  }

  /** Attempts, successes and mean latency within the window. */
  totals(now: number): { attempts: number; ok: number; meanLatencyMs: number } {
    this.trim(now);
    let ok = 0;
    let failed = 0;
    let latency = 0;
    for (const s of this.slices) {
      ok += s.ok;
      failed += s.failed;
      latency += s.latencyMs;
    }
    const attempts = ok + failed;
    return { attempts, ok, meanLatencyMs: attempts === 0 ? 0 : latency / attempts };
  }

  /** Whether what was seen opens the circuit, and why. */
  trips(t: CircuitThresholds, now: number): string | undefined {
    if (t.failures > 0 && this.consecutiveFailures >= t.failures) return `${this.consecutiveFailures} consecutive failures`;
    if (t.failureRate > 0) {
      const { attempts, ok } = this.totals(now);
      const rate = attempts === 0 ? 0 : ((attempts - ok) * 100) / attempts;
      if (attempts >= Math.max(1, t.minAttempts) && rate >= t.failureRate) return `${Math.round(rate)}% of ${attempts} attempts failed`;
    }
    return undefined;
  }

  /** Nothing in the window and no failures pending: the endpoint can be forgotten here. */
  idle(now: number): boolean {
    this.trim(now);
    return this.slices.length === 0 && this.consecutiveFailures === 0;
  }

  /** A fresh start (the circuit closed): old failures do not count against the endpoint again. */
  reset(): void {
    this.consecutiveFailures = 0;
    this.slices.length = 0;
  }
}
