// Holds a node's recoveries open: the next `n` reads of a topic's bounds (each SUBSCRIBE {since} opening
// its catch-up reads them first) wait until all `n` have come, then `during` runs once, then all go on.
// What `during` publishes lands inside the catch-up windows, deterministically.
import type { Hookhub } from '../../src/server.js';

export function holdRecoveries(hub: Hookhub, topic: string, n: number, during: () => Promise<void>): Promise<void> {
  const log = hub.store.topics;
  const original = log.bounds;
  let waiting = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const done = released.then(during);
  log.bounds = async function (this: typeof log, t: string) {
    if (t === topic && waiting < n) {
      if (++waiting === n) {
        log.bounds = original;
        release();
      }
      await done;
    }
    return original.call(this, t);
  };
  return done;
}
