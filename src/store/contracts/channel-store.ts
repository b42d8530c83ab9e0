// Browser channels that outlive their subscribers (persistent): their records, kept across restarts.

/** A browser channel's lasting settings: options (JSON, Hookbox names) and state keys. */
export interface ChannelRecord {
  name: string;
  options: Record<string, unknown>;
  state: Record<string, unknown>;
}

/** Channels that outlive their subscribers (option `persistent`): kept across restarts. */
export interface ChannelStore {
  put(record: ChannelRecord): Promise<void>;
  delete(name: string): Promise<void>;
  list(): Promise<ChannelRecord[]>;
}
