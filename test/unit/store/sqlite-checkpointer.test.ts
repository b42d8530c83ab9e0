// The serving connection never checkpoints itself; the worker must, or the WAL would grow without bound.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../../src/store/sqlite/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('sqlite WAL checkpointer', () => {
  it('copies the WAL into the database file from its worker, and the store closes cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookhub-ckpt-'));
    dirs.push(dir);
    const store = createSqliteStore({ dataDir: dir, historySize: 100_000 });
    const dbFile = join(dir, 'hookhub.db');
    const before = statSync(dbFile).size;
    const body = Buffer.alloc(16 * 1024, 'x');
    for (let i = 0; i < 400; i++) await store.topics.append('big', { contentType: 'text/plain', body }); // ~6.5 MB
    const deadline = Date.now() + 10_000;
    while (statSync(dbFile).size < before + 4 * 1024 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(statSync(dbFile).size).toBeGreaterThan(before + 4 * 1024 * 1024);
    await store.close();
    // The last connection's close checkpoints the rest and removes the WAL.
    expect(() => statSync(`${dbFile}-wal`)).toThrow();
    const again = createSqliteStore({ dataDir: dir, historySize: 100_000 });
    expect((await again.topics.read('big', 399, 10)).map((m) => m.offset)).toEqual([400]);
    await again.close();
  });
});
