// How a product is one Fastify plugin. A product's plugin runs in the context it is registered in (as
// fastify-plugin's plugins do), so what it builds can be handed back to server.ts as a decoration, and so
// /ws can stay at the root; its routes go into a child context of their own, with their auth hook.
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginOptions } from 'fastify';

/** `plugin` with Fastify's skip-override: registered, it runs in the registering context, not a child. */
export function productPlugin<Options extends FastifyPluginOptions>(name: string, plugin: FastifyPluginAsync<Options>): FastifyPluginAsync<Options> {
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: name,
  });
}

/**
 * What a product plugin hands back to the context that registered it: `set` inside the plugin, `of` after
 * `await app.register(...)`. A private symbol, so nothing else reads it by name.
 */
export interface ProductHandle<T> {
  set(app: FastifyInstance, value: T): void;
  of(app: FastifyInstance): T;
}

export function productHandle<T>(name: string): ProductHandle<T> {
  const key = Symbol(name);
  return {
    set: (app, value) => void app.decorate(key, { value }),
    // Wrapped: Fastify binds a decorated function to the instance, and the handle may be one.
    of: (app) => app.getDecorator<{ value: T }>(key).value,
  };
}
