// Persistent channel records shared by every node: one hash, name → JSON {options, state}.
import type { Redis } from 'ioredis';
import type { ChannelRecord, ChannelStore } from '../contracts/channel-store.js';

export class RedisChannelStore implements ChannelStore {
  private readonly key: string;

  constructor(private readonly client: Redis, prefix: string) {
    this.key = `${prefix}channels`;
  }

  async put(record: ChannelRecord): Promise<void> {
    await this.client.hset(this.key, record.name, JSON.stringify({ options: record.options, state: record.state }));
  }

  async delete(name: string): Promise<void> {
    await this.client.hdel(this.key, name);
  }

  async list(): Promise<ChannelRecord[]> {
    const all = await this.client.hgetall(this.key);
    return Object.keys(all).sort().map((name) => {
      const { options, state } = JSON.parse(all[name] as string) as Omit<ChannelRecord, 'name'>;
      return { name, options, state };
    });
  }
}
