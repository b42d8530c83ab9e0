// Hookbox's -w: the REST API on a port of its own (--web-api-port). Browsers keep /ws on the main port;
// the REST methods answer only on the other one, at /web/<method>, /rest/<method> and /<method>.
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/killable-server.js';
import { startHub } from '../helpers/server.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { restAuth, restful } from '../helpers/rest-key.js';

const call = (base: string, path: string, body: Record<string, unknown>, headers: Record<string, string> = restAuth): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('REST on its own port (--web-api-port)', () => {
  it('answers REST there, with the same token check; the main port answers REST with 404 and keeps /ws', async () => {
    const restPort = await freePort();
    const hub = await startHub({ ...restful, webApiPort: restPort, webApiHost: '127.0.0.1' });
    const rest = `http://127.0.0.1:${restPort}`;
    const c = await HookboxClient.connect(hub.url, { payload: { name: 'ann' } });
    c.send('SUBSCRIBE', { channel_name: 'room' });
    await c.frame('SUBSCRIBE', (a) => a.channel_name === 'room');

    expect(await (await call(rest, '/rest/publish', { channel_name: 'room', payload: 1 })).json()).toEqual([true, {}]);
    expect(await (await call(rest, '/web/publish', { channel_name: 'room', payload: 2 })).json()).toEqual([true, {}]);
    expect(await (await call(rest, '/publish', { channel_name: 'room', payload: 3 })).json()).toEqual([true, {}]);
    expect(await (await call(rest, '/publish', { channel_name: 'room', payload: 4 }, {})).json()).toEqual([false, { msg: 'invalid security token' }]);
    await c.frame('PUBLISH', () => true, 3);
    expect(c.all('PUBLISH').map((f) => f[2].payload)).toEqual([1, 2, 3]);

    const onMain = await call(hub.url, '/rest/publish', { channel_name: 'room', payload: 5 });
    expect(onMain.status).toBe(404);
    await onMain.arrayBuffer();
    // Only REST methods are served on the REST port.
    const stray = await fetch(`${rest}/dispatch`, { method: 'POST' });
    expect(stray.status).toBe(404);
    await stray.arrayBuffer();
    c.close();
  });
});
