// The pure parts of endpoint control: which endpoint a URL goes to, and when a window of attempts opens
// the circuit.
import { describe, expect, it } from 'vitest';
import { AttemptWindow } from '../../../src/dispatch/circuit.js';
import { EndpointResolver, isOrigin } from '../../../src/dispatch/endpoint-id.js';
import { EndpointControl } from '../../../src/dispatch/endpoints.js';
import type { EndpointBook } from '../../../src/store/contracts/endpoints.js';
import { LocalEndpointLimiter } from '../../../src/store/local/endpoint-limiter.js';
import { MemoryDeliveryQueue } from '../../../src/store/memory/delivery-queue.js';
import { MemoryEndpointBook } from '../../../src/store/memory/endpoints.js';

describe('EndpointResolver', () => {
  it('an origin by default; the longest defined prefix when one matches', () => {
    const r = new EndpointResolver();
    expect(r.endpointOf('https://a.example:8443/x?y=1')).toBe('https://a.example:8443');
    expect(r.endpointOf('https://a.example:443/x')).toBe('https://a.example');
    r.setPrefixes(['https://a.example/v1/', 'https://a.example/v1/slow/']);
    expect(r.endpointOf('https://a.example/v1/slow/hook')).toBe('https://a.example/v1/slow/');
    expect(r.endpointOf('https://a.example/v1/fast')).toBe('https://a.example/v1/');
    expect(r.endpointOf('https://a.example/v2')).toBe('https://a.example');
    expect(isOrigin('https://a.example')).toBe(true);
    expect(isOrigin('https://a.example/v1/')).toBe(false);
  });
});

describe('AttemptWindow', () => {
  const thresholds = { failures: 3, failureRate: 50, windowMs: 10_000, minAttempts: 6 };

  it('consecutive failures trip it; a success starts the count again', () => {
    const w = new AttemptWindow(10_000);
    w.record(false, 1, 0);
    w.record(false, 1, 1);
    w.record(true, 1, 2);
    w.record(false, 1, 3);
    w.record(false, 1, 4);
    expect(w.trips(thresholds, 5)).toBeUndefined();
    w.record(false, 1, 5);
    expect(w.trips(thresholds, 6)).toBe('3 consecutive failures');
  });

  it('a failure rate over the window trips it once the window holds enough attempts; old attempts leave it', () => {
    const w = new AttemptWindow(10_000);
    const rateOnly = { ...thresholds, failures: 0 };
    for (let i = 0; i < 5; i++) w.record(i % 2 === 0, 10, i);
    expect(w.trips(rateOnly, 5)).toBeUndefined(); // 5 attempts: below minAttempts
    w.record(false, 10, 6);
    expect(w.trips(rateOnly, 7)).toBe('50% of 6 attempts failed');
    expect(w.totals(7)).toEqual({ attempts: 6, ok: 3, meanLatencyMs: 10 });
    expect(w.totals(20_000).attempts).toBe(0);
  });
});

describe('EndpointControl', () => {
  it('a state this node wrote while a refresh was reading the records is kept (the refresh is older)', async () => {
    const book = new MemoryEndpointBook();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const slowBook: EndpointBook = {
      list: async () => {
        const snapshot = await book.list();
        await gate;
        return snapshot;
      },
      get: (id) => book.get(id),
      put: (r) => book.put(r),
      remove: (id) => book.remove(id),
    };
    const events: string[] = [];
    const control = new EndpointControl(
      { defaults: { concurrency: 0, rate: 0, burst: 0 }, circuit: { failures: 3, failureRate: 0, windowMs: 60_000, minAttempts: 1 }, cooldownMs: 1000, disableAfterMs: 0 },
      { book: slowBook, limiter: new LocalEndpointLimiter(), queue: new MemoryDeliveryQueue(), emit: (e) => events.push(e.type), unparked: () => {}, slotHoldMs: () => 1000, onError: (err) => { throw err; } },
    );
    const reading = control.refresh();
    expect(await control.disable('https://a.example')).toBe(true);
    release();
    await reading;
    expect(control.view('https://a.example').state).toBe('disabled');
    expect(events).toEqual(['endpoint.disabled']);
  });
});
