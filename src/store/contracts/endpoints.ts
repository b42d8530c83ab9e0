// Receiving endpoints as the store keeps them: settings set through the API or the console, and the health
// state every node must agree on (circuit, disabled, failing since). Writes are compare-and-set on a
// version, so that of two nodes seeing the same failure only one opens the circuit (and publishes it).

export type CircuitState = 'closed' | 'open' | 'half_open';

/** Overrides of the flow-control defaults (--endpoint-concurrency, --endpoint-rate, --endpoint-burst). */
export interface EndpointSettings {
  /** Attempts in flight to the endpoint across every node (0: no limit). */
  concurrency?: number;
  /** Attempts started per second across every node (0: no limit). */
  rate?: number;
  /** Attempts the rate allows at once after a quiet spell. */
  burst?: number;
}

export interface EndpointRecord {
  /** An origin (`https://host:port`, every URL of it) or a URL prefix defined through the API. */
  id: string;
  settings: EndpointSettings;
  circuit: CircuitState;
  /** When the circuit last opened (ms since the epoch). */
  openedAt?: number;
  /** Start of the current run of failures, cleared by a success: auto-disable counts from here. */
  failingSince?: number;
  disabled?: { at: number; reason: 'manual' | 'failing' };
  /** While half-open: the delivery sent as the probe, and when. */
  probe?: { id: string; at: number };
  /** 0 for a record not stored yet; the store bumps it on every write. */
  version: number;
}

export interface EndpointBook {
  list(): Promise<EndpointRecord[]>;
  get(id: string): Promise<EndpointRecord | undefined>;
  /**
   * Writes `record` if the stored version is still `record.version` (0: absent); stores it with version + 1.
   * False when another writer came first (read again and decide again).
   */
  put(record: EndpointRecord): Promise<boolean>;
  remove(id: string): Promise<void>;
}

/** Flow-control limits of one endpoint, as the dispatcher resolved them. */
export interface FlowLimits {
  /** 0: no limit. */
  concurrency: number;
  /** Per second; 0: no limit. */
  rate: number;
  burst: number;
}

export type PermitAnswer = { granted: true } | { granted: false; retryInMs: number };

/**
 * The permits of flow control, shared by every node on a shared store: a concurrency slot held by a
 * delivery until released (or until `holdMs` passed: a dead node's slots come back), and a token bucket.
 */
export interface EndpointLimiter {
  acquire(endpoint: string, deliveryId: string, limits: FlowLimits, now: number, holdMs: number): Promise<PermitAnswer>;
  release(endpoint: string, deliveryId: string): Promise<void>;
}
