// Runs one doc page: starts a Hookhub with the page's flags, runs its ```sh blocks in one bash session and
// compares their output with the ```text blocks. Throws an Error naming the page and line of the first
// block that fails. Used by test/docs/docs.test.ts; tested on small pages in test/unit/doc-runner.test.ts.
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OPTIONS, resolveConfig, type Config, type OptionName } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { parseDoc } from './markdown.js';
import { matchOutput } from './matcher.js';
import { ShellSession } from './session.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BLOCK_TIMEOUT_MS = 10_000;
/** Pages in reading order; any other docs/*.md follows, by name. */
const ORDER = [
  'README.md', 'docs/index.md', 'docs/getting-started.md', 'docs/configuration.md', 'docs/topics.md',
  'docs/dispatcher.md', 'docs/websub.md', 'docs/channels.md', 'docs/client.md', 'docs/admin.md',
  'docs/security.md', 'docs/clustering.md', 'docs/switching.md', 'docs/operations.md',
];
/** What a page's working directory links to, so that `npm start`, `npx tsx src/cli.ts` and examples work there. */
const LINKED = ['package.json', 'node_modules', 'src', 'client', 'examples', 'tsconfig.json', 'docs', 'README.md'];

/** README.md and every docs/*.md, in reading order. */
export function docPages(root = ROOT): string[] {
  const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  const known = ORDER.filter((p) => p === 'README.md' || docs.includes(p));
  return [...known, ...docs.filter((p) => !known.includes(p)).sort()];
}

/** `--name=value` / `--name` (a boolean) into a config layer; an unknown option is the page's error. */
function flagsToRaw(flags: string[]): Partial<Record<OptionName, unknown>> {
  const raw: Partial<Record<OptionName, unknown>> = {};
  for (const flag of flags) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(flag);
    if (!m || !(m[1]! in OPTIONS)) throw new Error(`doc-test: unknown server flag ${flag}`);
    raw[m[1] as OptionName] = m[2] ?? '1';
  }
  return raw;
}

function shellEnv(url: string, config: Config): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(HOOKHUB|VITEST|NODE_ENV$)/.test(k)) env[k] = v;
  return {
    ...env, HOOKHUB: url, NO_COLOR: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false',
    npm_config_audit: 'false', LC_ALL: 'C.UTF-8',
    // A page on --store redis reaches the same keys from the nodes it starts itself.
    ...(config.store === 'redis' ? { REDIS_URL: config.redisUrl, REDIS_PREFIX: config.redisPrefix } : {}),
  };
}

/** Runs the page `name` whose text is `text`. */
export async function runPage(name: string, text: string, blockTimeoutMs = BLOCK_TIMEOUT_MS): Promise<void> {
  const page = parseDoc(text);
  const missing = page.skipped.filter((s) => s.reason === undefined).map((s) => `${name}:${s.line}`);
  if (missing.length > 0) throw new Error(`a \`\`\`sh no-run block needs an italic line right before it giving the reason: ${missing.join(', ')}`);
  if (page.misnamed.length > 0) {
    throw new Error(`shell blocks are fenced \`\`\`sh (run) or \`\`\`sh no-run (with a reason), not under another name: ${page.misnamed.map((l) => `${name}:${l}`).join(', ')}`);
  }
  if (page.blocks.length === 0) return;

  const raw = flagsToRaw(page.flags);
  const dir = mkdtempSync(join(tmpdir(), 'hookhub-doc-'));
  for (const entry of LINKED) symlinkSync(join(ROOT, entry), join(dir, entry));
  const redisPrefix = raw.store === 'redis' && raw['redis-prefix'] === undefined ? `hookhub-doc:${Date.now()}:${process.pid}:` : undefined;
  const config = resolveConfig(
    {
      store: 'memory', 'log-level': 'silent', 'data-dir': join(dir, '.doc-hub-data'),
      ...(redisPrefix ? { 'redis-prefix': redisPrefix } : {}),
      ...(process.env.HOOKHUB_TEST_REDIS_URL ? { 'redis-url': process.env.HOOKHUB_TEST_REDIS_URL } : {}),
    },
    raw,
    { port: 0 },
  );
  const hub = await startServer(config);
  const shell = new ShellSession(dir, shellEnv(hub.url, config));
  try {
    const blocks = [...page.blocks];
    if (page.env.length > 0) blocks.unshift({ line: 1, code: page.env.map((e) => `export ${e}`).join('\n') });
    for (const block of blocks) {
      const where = `${name}:${block.line}`;
      const run = await shell.run(block.code, blockTimeoutMs);
      if (run.status === undefined) throw new Error(`${where}: the block did not finish within ${blockTimeoutMs / 1000} s\n${block.code}\n--- output so far:\n${run.output}`);
      if (run.status !== 0) throw new Error(`${where}: the block exited with ${run.status}\n${block.code}\n--- output:\n${run.output}`);
      if (block.expected !== undefined) {
        const result = matchOutput(block.expected, run.output);
        if (!result.ok) throw new Error(`${where}: the output is not the one shown\n${block.code}\n--- ${result.message}`);
      }
    }
  } finally {
    shell.close();
    await hub.close();
    if (redisPrefix) await deleteRedisKeys(config.redisUrl, redisPrefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The keys under the page's own prefix (SCAN + DEL, never a FLUSH). */
async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
