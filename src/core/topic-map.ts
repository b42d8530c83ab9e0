// A map from topic name to a value for a consumer's stream (its positions, its epochs). Nearly every stream
// follows one topic, and the fan-out reads and writes these for every consumer of every message: the first
// topic's entry sits in two fields, so those reads and writes compare a string instead of hashing it into a
// Map. Further topics go to a Map. Iterates in insertion order, as a Map does; entries are never removed.
export class TopicMap<V> implements ReadonlyMap<string, V> {
  private firstKey: string | undefined;
  private firstValue: V | undefined;
  private rest: Map<string, V> | undefined;

  get size(): number {
    return (this.firstKey === undefined ? 0 : 1) + (this.rest === undefined ? 0 : this.rest.size);
  }

  get(key: string): V | undefined {
    if (key === this.firstKey) return this.firstValue;
    return this.rest === undefined ? undefined : this.rest.get(key);
  }

  has(key: string): boolean {
    return key === this.firstKey || (this.rest !== undefined && this.rest.has(key));
  }

  set(key: string, value: V): this {
    if (this.firstKey === undefined || key === this.firstKey) {
      this.firstKey = key;
      this.firstValue = value;
    } else (this.rest ??= new Map()).set(key, value);
    return this;
  }

  *entries(): MapIterator<[string, V]> {
    if (this.firstKey !== undefined) yield [this.firstKey, this.firstValue as V];
    if (this.rest !== undefined) yield* this.rest.entries();
  }

  *keys(): MapIterator<string> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) fn.call(thisArg, value, key, this);
  }
}
