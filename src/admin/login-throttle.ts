// Failed console logins per client address: a bucket of `burst` failures refilled one per `refillMs`.
// An empty bucket refuses every login from that address (right password included, so the answers leak
// nothing) until it refills: a password guesser gets one try per `refillMs` instead of thousands a second.
const MAX_TRACKED = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class LoginThrottle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly burst = 20, private readonly refillMs = 3000) {}

  private level(ip: string, now: number): Bucket | undefined {
    const b = this.buckets.get(ip);
    if (!b) return undefined;
    const refilled = Math.floor((now - b.at) / this.refillMs);
    if (refilled > 0) {
      b.tokens = Math.min(this.burst, b.tokens + refilled);
      b.at += refilled * this.refillMs;
    }
    if (b.tokens >= this.burst) {
      this.buckets.delete(ip);
      return undefined;
    }
    return b;
  }

  /** Milliseconds until this address may try again, or 0. */
  retryAfter(ip: string, now = Date.now()): number {
    const b = this.level(ip, now);
    return b && b.tokens <= 0 ? b.at + this.refillMs - now : 0;
  }

  failed(ip: string, now = Date.now()): void {
    const b = this.level(ip, now);
    if (b) b.tokens--;
    else {
      if (this.buckets.size >= MAX_TRACKED) this.forgetOldest();
      this.buckets.set(ip, { tokens: this.burst - 1, at: now });
    }
  }

  succeeded(ip: string): void {
    this.buckets.delete(ip);
  }

  private forgetOldest(): void {
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }
}
