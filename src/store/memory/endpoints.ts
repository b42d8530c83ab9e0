// Endpoint settings and health in process.
import type { EndpointBook, EndpointRecord } from '../contracts/endpoints.js';

const copy = (r: EndpointRecord): EndpointRecord => structuredClone(r);

export class MemoryEndpointBook implements EndpointBook {
  private readonly records = new Map<string, EndpointRecord>();

  async list(): Promise<EndpointRecord[]> {
    return [...this.records.values()].map(copy);
  }

  async get(id: string): Promise<EndpointRecord | undefined> {
    const r = this.records.get(id);
    return r && copy(r);
  }

  async put(record: EndpointRecord): Promise<boolean> {
    if ((this.records.get(record.id)?.version ?? 0) !== record.version) return false;
    this.records.set(record.id, { ...copy(record), version: record.version + 1 });
    return true;
  }

  async remove(id: string): Promise<void> {
    this.records.delete(id);
  }
}
