// Lua scripts on a Redis connection, shared by the Redis store's parts.
import type { Redis } from 'ioredis';

/** Arguments a Lua script takes after its keys. */
export type ScriptArg = string | Buffer | number;

/** A Lua script registered on a connection (EVALSHA, falling back to EVAL once). */
export interface Script {
  run(keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown>;
  /** Same, with bulk replies as Buffers (binary bodies). */
  runBuffer(keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown>;
}

type ScriptFn = (...args: ScriptArg[]) => Promise<unknown>;

export function defineScript(client: Redis, name: string, keyCount: number, lua: string): Script {
  client.defineCommand(name, { numberOfKeys: keyCount, lua });
  const commands = client as unknown as Record<string, ScriptFn>;
  const call = (fn: string, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> => {
    if (keys.length !== keyCount) throw new Error(`script ${name} takes ${keyCount} keys`);
    return (commands[fn] as ScriptFn).call(client, ...keys, ...args);
  };
  return {
    run: (keys, args) => call(name, keys, args),
    runBuffer: (keys, args) => call(`${name}Buffer`, keys, args),
  };
}
