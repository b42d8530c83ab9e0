// productPlugin and productHandle: a product's plugin hands back what it built to the context that
// registered it, and its auth hook, in a child context of its own, guards only its routes.
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { requireKey } from '../../../src/http/auth.js';
import { productHandle, productPlugin } from '../../../src/http/plugin.js';

const apps: Array<ReturnType<typeof Fastify>> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

interface Counter {
  count: number;
  bump(): number;
}

const counterHandle = productHandle<Counter>('test.counter');

const counterPlugin = productPlugin<{ key: string }>('test-counter', async (app, { key }) => {
  const counter: Counter = { count: 0, bump: () => ++counter.count };
  counterHandle.set(app, counter);
  await app.register(async (guarded) => {
    guarded.addHook('onRequest', requireKey(key));
    guarded.post('/bump', async () => ({ count: counter.bump() }));
  });
});

async function serve(): Promise<{ url: string; counter: Counter }> {
  const app = Fastify();
  apps.push(app);
  await app.register(counterPlugin, { key: 'secret' });
  const counter = counterHandle.of(app);
  app.get('/open', async () => ({ ok: true }));
  return { url: await app.listen({ port: 0, host: '127.0.0.1' }), counter };
}

describe('productPlugin', () => {
  it('hands back the very object it built, which its routes use', async () => {
    const { url, counter } = await serve();
    const res = await fetch(`${url}/bump`, { method: 'POST', headers: { authorization: 'Bearer secret' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ count: 1 });
    expect(counter.count).toBe(1);
    expect(counter.bump()).toBe(2);
  });

  it('keeps its auth hook on its own routes', async () => {
    const { url, counter } = await serve();
    expect((await fetch(`${url}/bump`, { method: 'POST' })).status).toBe(401);
    expect(counter.count).toBe(0);
    expect((await fetch(`${url}/open`)).status).toBe(200);
  });

  it('a handle read where its plugin was not registered fails loudly', () => {
    const app = Fastify();
    apps.push(app);
    expect(() => counterHandle.of(app)).toThrow(/test\.counter/);
  });
});
