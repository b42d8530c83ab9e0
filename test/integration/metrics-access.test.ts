// /metrics: open by default (scrapers on a private network), behind a Bearer key with --metrics-key.
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers/server.js';

describe('/metrics access', () => {
  it('with --metrics-key: 401 without or with a wrong key, the Prometheus text with it', async () => {
    const hub = await startHub({ metricsKey: 'scrape-k3y', apiKey: 'api-k3y' });
    const none = await fetch(`${hub.url}/metrics`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ code: 'unauthorized' });
    // The api key is another key: it does not open /metrics.
    expect((await fetch(`${hub.url}/metrics`, { headers: { authorization: 'Bearer api-k3y' } })).status).toBe(401);
    expect((await fetch(`${hub.url}/metrics?key=scrape-k3y`)).status).toBe(401);
    const ok = await fetch(`${hub.url}/metrics`, { headers: { authorization: 'Bearer scrape-k3y' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('hookhub_messages_published_total');
    // Health checks stay open for load balancers.
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
  });

  it('without --metrics-key /metrics is open', async () => {
    const hub = await startHub();
    expect((await fetch(`${hub.url}/metrics`)).status).toBe(200);
  });

  it('process and runtime metrics keep their standard names (process_*, nodejs_*), so stock dashboards work', async () => {
    const hub = await startHub();
    const text = await (await fetch(`${hub.url}/metrics`)).text();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const name of ['process_cpu_user_seconds_total', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds',
      'process_open_fds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_gc_duration_seconds', 'nodejs_version_info']) {
      expect(families.has(name), name).toBe(true);
    }
    expect([...families].filter((f) => /^hookhub_(process|nodejs)_/.test(f!))).toEqual([]);
  });
});
