// Online backup of Hookhub's sqlite store while it runs: SQLite's backup API (through better-sqlite3, which
// Hookhub installs) copies a consistent snapshot page by page; the server keeps reading and writing meanwhile.
//
//   node backup.mjs /var/lib/hookhub/hookhub.db /var/backups/hookhub-$(date +%F).db
//
// Then it checks the copy (PRAGMA integrity_check) and prints what it holds. Exit 1 on any problem.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';

const [source, target] = process.argv.slice(2);
if (!source || !target) {
  console.error('usage: node backup.mjs <data-dir>/hookhub.db <backup file>');
  process.exit(2);
}
if (!existsSync(source)) {
  console.error(`no database at ${source} (it is <data-dir>/hookhub.db)`);
  process.exit(1);
}
if (existsSync(target)) {
  console.error(`${target} exists: give a new file name`);
  process.exit(1);
}

const db = new Database(source, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
try {
  await db.backup(target);
} finally {
  db.close();
}

// One self-contained file: the copy leaves WAL mode (Hookhub turns it on again when it opens a restored store).
const copy = new Database(target);
try {
  copy.pragma('journal_mode = DELETE');
  const check = copy.pragma('integrity_check', { simple: true });
  if (check !== 'ok') throw new Error(`integrity_check: ${check}`);
  const count = (table) => copy.prepare(`SELECT count(*) AS n FROM ${table}`).get().n;
  console.log(`backup ${target}: integrity ok, ${count('topics')} topics, ${count('messages')} messages, ${count('deliveries')} deliveries`);
} catch (err) {
  console.error(`backup ${target} is not usable: ${err.message}`);
  process.exitCode = 1;
} finally {
  copy.close();
}
