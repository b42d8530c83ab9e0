// WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that crosses
// the threshold: it copies the WAL into the database file and fsyncs both, on the thread that serves
// requests (about a tenth of the dispatcher's CPU in profiles). A worker thread with its own connection
// does it instead; the serving connection turns automatic checkpoints off while the worker runs.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';

/** How often the worker looks at the WAL's size, and the size over which it checkpoints. */
const POLL_MS = 100;
const CHECKPOINT_BYTES = 4 * 1024 * 1024;

// CommonJS, evaluated: runs the same under tsx (tests) and from dist/.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('wal_autocheckpoint = 0');
const walSize = () => { try { return statSync(workerData.file + '-wal').size; } catch { return 0; } };
// PASSIVE never waits for the writer: frames committed meanwhile wait for the next round.
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ error: String(err) }); } };
const timer = setInterval(() => {
  if (walSize() >= workerData.threshold) checkpoint();
}, workerData.pollMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage({ stopped: true });
});
parentPort.postMessage({ ready: true });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Starts checkpointing `db`'s WAL from a worker thread and turns the connection's automatic checkpoints off.
 * If the worker cannot run, automatic checkpoints stay (or come back) on: never an unbounded WAL.
 */
export function startCheckpointer(db: Database, onError: (message: string) => void): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { driver, file: db.name, threshold: CHECKPOINT_BYTES, pollMs: POLL_MS },
  });
  worker.unref();
  let alive = true;
  const fallBack = (message: string): void => {
    if (!alive) return;
    alive = false;
    if (db.open) db.pragma('wal_autocheckpoint = 1000');
    onError(message);
  };
  db.pragma('wal_autocheckpoint = 0');
  worker.on('message', (m: { error?: string }) => {
    if (m.error) onError(`WAL checkpoint failed: ${m.error}`);
  });
  worker.on('error', (err) => fallBack(`WAL checkpointer stopped: ${err.message}`));
  worker.on('exit', (code) => {
    if (code !== 0) fallBack(`WAL checkpointer exited with code ${code}`);
  });
  return {
    stop: async () => {
      if (!alive) return;
      alive = false;
      const stopped = new Promise<void>((resolve) => {
        worker.on('message', (m: { stopped?: boolean }) => m.stopped && resolve());
        worker.once('exit', () => resolve());
      });
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
    },
  };
}
