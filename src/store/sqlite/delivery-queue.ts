// Webhook queue and delivery log on disk. A delivery is committed before enqueue resolves; its claims live
// in memory (claims.ts: the data directory is one process's), so a delivery is written twice, when
// queued and when attempted, and a process killed mid-attempt leaves its deliveries simply pending.
// Writes from one event-loop turn are grouped into one transaction (group commit); attempt records, which
// nobody waits on, gather for up to FINISH_GATHER_MS into larger ones (a commit costs ~100 µs of syscalls).
// Over 400 lines, knowingly: every statement of the queue shares one prepared-statement set and one group
// commit; the log queries (list, search, retention) could move to a file of their own (issue #11).
import type { Database, Statement } from 'better-sqlite3';
import { HookhubError } from '../../core/errors.js';
import { deliveryHost } from '../contracts/delivery-target.js';
import { ClaimBook } from './claims.js';
import { fixedPart, type FixedPart } from '../contracts/delivery-fixed-part.js';
import { RecentRows } from './recent-rows.js';
import { HELD_BEHIND_EARLIER, PARKED, type ParkedDelivery, type AttemptOutcome, type ClaimRequest, type DeliveryAttempt, type DeliveryLimits, type DeliveryQuery, type DeliveryQueue, type DeliveryRecord, type DeliveryStatus, type NewDelivery } from '../contracts/delivery-queue.js';
import { migrate } from './schema.js';

export const DELIVERIES_SCHEMA = [
  `CREATE TABLE deliveries (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     url TEXT NOT NULL,
     host TEXT NOT NULL,
     method TEXT NOT NULL,
     headers TEXT NOT NULL,
     content_type TEXT,
     body BLOB NOT NULL,
     secret_mode INTEGER NOT NULL,
     secret TEXT,
     timeout_ms INTEGER,
     errback TEXT,
     callback TEXT,
     origin_kind TEXT,
     origin_ref TEXT,
     idempotency_key TEXT,
     max_attempts INTEGER NOT NULL,
     status TEXT NOT NULL,
     attempts TEXT NOT NULL DEFAULT '[]',
     next_at INTEGER NOT NULL,
     lease_until INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX deliveries_due ON deliveries (status, next_at);
   CREATE INDEX deliveries_by_status ON deliveries (status, seq);
   CREATE INDEX deliveries_key ON deliveries (idempotency_key, created_at) WHERE idempotency_key IS NOT NULL;
   CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE status IN ('succeeded', 'failed');`,
  // Claims look only at pending rows by due time and at claimed rows by lease end: two small partial indexes.
  `DROP INDEX deliveries_due;
   CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status = 'pending';
   CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE status = 'delivering';`,
  // Fewer index writes per status change: the log lists by seq (the rowid); only failed ones need an index.
  `DROP INDEX deliveries_by_status;
   CREATE INDEX deliveries_failed ON deliveries (seq) WHERE status = 'failed';`,
  // Pending rows by host: a claim finds in a few index probes whether anything outside the skipped (full)
  // hosts is pending at all, and claims a lone host's backlog without scanning and ranking a window.
  `CREATE INDEX deliveries_pending_host ON deliveries (host, next_at) WHERE status = 'pending';`,
  // Ordered deliveries: a lane per ordering key, its unfinished members by position (the first may run).
  `ALTER TABLE deliveries ADD COLUMN order_key TEXT;
   ALTER TABLE deliveries ADD COLUMN order_pos INTEGER;
   CREATE INDEX deliveries_lane ON deliveries (order_key, order_pos) WHERE order_key IS NOT NULL AND status IN ('pending', 'delivering');`,
];

/**
 * Due rows scanned per claim, per row asked for, before the per-host cap applies: bounds a claim's cost on a
 * deep queue. Full hosts are skipped before the scan, so a busy host cannot hide the others for long.
 */
const CLAIM_SCAN_FACTOR = 4;
/** How long finished attempts wait for company before their commit, and how many make it at once. */
const FINISH_GATHER_MS = 2;
const FINISH_GATHER_MAX = 64;

interface Row {
  seq: number;
  id: string;
  url: string;
  method: string;
  headers: string;
  content_type: string | null;
  body: Buffer;
  secret_mode: number;
  secret: string | null;
  timeout_ms: number | null;
  errback: string | null;
  callback: string | null;
  origin_kind: string | null;
  origin_ref: string | null;
  idempotency_key: string | null;
  max_attempts: number;
  status: DeliveryStatus;
  attempts: string;
  next_at: number;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  order_key: string | null;
}

const STATUSES = new Set<string>(['pending', 'delivering', 'succeeded', 'failed']);
const SECRET_DEFAULT = 0;
const SECRET_NONE = 1;
const SECRET_OWN = 2;

/**
 * The columns that never change after the insert, read as arrays (`raw()`, which better-sqlite3 builds far
 * faster than objects) for a claimed row RecentRows does not hold; the changing ones the claim read already.
 */
const FIXED_COLUMNS = `seq, id, url, method, headers, content_type, body, secret_mode, secret, timeout_ms, errback, callback, origin_kind,
  origin_ref, idempotency_key, created_at, order_key`;

/** A row's fixed part (FIXED_COLUMNS), as fixedPart gives it for a new delivery. */
function fixedOf(v: unknown[]): FixedPart {
  const f: FixedPart = { id: v[1] as string, url: v[2] as string, method: v[3] as string, headers: parseHeaders(v[4] as string), body: v[6] as Buffer, createdAt: v[15] as number };
  if (v[5] !== null) f.contentType = v[5] as string;
  if (v[7] === SECRET_NONE) f.secret = null;
  else if (v[7] === SECRET_OWN && v[8] !== null) f.secret = v[8] as string;
  if (v[9] !== null) f.timeoutMs = v[9] as number;
  if (v[10] !== null) f.errback = v[10] as string;
  if (v[11] !== null) f.callback = v[11] as string;
  if (v[12] !== null && v[13] !== null) f.origin = { kind: v[12] as string, ref: v[13] as string };
  if (v[14] !== null) f.idempotencyKey = v[14] as string;
  if (v[16] !== null) f.orderKey = v[16] as string;
  return f;
}

/** The attempts column: most rows a claim reads have none yet. */
const parseAttempts = (text: string): DeliveryAttempt[] => (text === '[]' ? [] : (JSON.parse(text) as DeliveryAttempt[]));
const parseHeaders = (text: string): Record<string, string> => (text === '{}' ? {} : (JSON.parse(text) as Record<string, string>));

/**
 * What a claim reads of a due row (CLAIM_COLUMNS), the rest coming from RecentRows: status and lease are the
 * claim's own, the attempts column is null while it is '[]' (most rows), and the times are offsets from
 * created_at. better-sqlite3 makes a JS value per column read, and a string or a number past 2^31 costs
 * several times a small integer: this is a claim's main cost.
 */
const CLAIM_COLUMNS = `seq, id, NULLIF(attempts, '[]'), max_attempts, next_at - created_at, updated_at - created_at`;
type Changing = [seq: number, id: string, attempts: string | null, maxAttempts: number, nextAfter: number, updatedAfter: number];

/** A claimed row's record from its fixed part and its claim columns. */
function fromParts(f: FixedPart, c: Changing): DeliveryRecord {
  const d: DeliveryRecord = {
    seq: c[0], ...f, maxAttempts: c[3], nextAt: f.createdAt + c[4], status: 'pending', attempts: c[2] === null ? [] : parseAttempts(c[2]),
    updatedAt: f.createdAt + c[5],
  };
  return d;
}

function fromRow(r: Row): DeliveryRecord {
  const d: DeliveryRecord = {
    seq: r.seq,
    id: r.id,
    url: r.url,
    method: r.method,
    headers: parseHeaders(r.headers),
    body: r.body,
    maxAttempts: r.max_attempts,
    nextAt: r.next_at,
    status: r.status,
    attempts: parseAttempts(r.attempts),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.content_type !== null) d.contentType = r.content_type;
  if (r.secret_mode === SECRET_NONE) d.secret = null;
  else if (r.secret_mode === SECRET_OWN && r.secret !== null) d.secret = r.secret;
  if (r.timeout_ms !== null) d.timeoutMs = r.timeout_ms;
  if (r.errback !== null) d.errback = r.errback;
  if (r.callback !== null) d.callback = r.callback;
  if (r.origin_kind !== null && r.origin_ref !== null) d.origin = { kind: r.origin_kind, ref: r.origin_ref };
  if (r.idempotency_key !== null) d.idempotencyKey = r.idempotency_key;
  if (r.lease_until !== null) d.leaseUntil = r.lease_until;
  if (r.order_key !== null) d.orderKey = r.order_key;
  return d;
}

/** The headers column; most deliveries have none of their own. */
function headersText(headers: Record<string, string>): string {
  for (const _ in headers) return JSON.stringify(headers);
  return '{}';
}

/**
 * A claim that took fewer than its limit, and fewer than perHost of every host, took every due row outside
 * the skipped hosts: the window it scans (CLAIM_SCAN_FACTOR × limit) was not full, nor was any host's share cut.
 */
function exhausted(records: readonly DeliveryRecord[], req: ClaimRequest): boolean {
  if (records.length >= req.limit) return false;
  if (records.length < req.perHost) return true;
  const counts = new Map<string, number>();
  for (const r of records) {
    const host = deliveryHost(r.url);
    const n = (counts.get(host) ?? 0) + 1;
    if (n >= req.perHost) return false;
    counts.set(host, n);
  }
  return true;
}

type Job = { run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void };

export class SqliteDeliveryQueue implements DeliveryQueue {
  /** One process (the data directory's lock); claims run in call order with the writes, and look at every due row. */
  readonly exhaustiveClaims = true;
  private readonly insertStmt: Statement;
  private readonly byKey: Statement;
  private readonly byId: Statement;
  private readonly finishClaimed: Statement;
  private readonly finishUnfinished: Statement;
  private readonly finishAny: Statement;
  private readonly claimIds: Statement;
  private readonly rowsBySeq: Statement;
  private readonly firstDue: Statement;
  private readonly firstDueAfter: Statement;
  private readonly firstPendingHost: Statement;
  private readonly nextPendingHost: Statement;
  private readonly dueOfHost: Statement;
  private readonly laneTail: Statement;
  private readonly laneNext: Statement;
  private unfinished: number;
  private readonly claims = new ClaimBook();
  private readonly recent = new RecentRows();
  private readonly changingBySeq: Statement;
  private jobs: Job[] = [];
  /** One group's jobs in one transaction: made once (better-sqlite3 builds a wrapper per `transaction` call). */
  private readonly runGroup: (jobs: Job[], values: unknown[], refused: Set<number>) => void;
  private flushScheduled = false;
  private gatherTimer: NodeJS.Timeout | undefined;

  constructor(private readonly db: Database) {
    migrate(db, 'deliveries', DELIVERIES_SCHEMA);
    // Each job's value (or refusal) by index, the refused indexes apart: no result object per job.
    this.runGroup = db.transaction((jobs: Job[], values: unknown[], refused: Set<number>) => {
      for (let i = 0; i < jobs.length; i++) {
        try {
          values.push((jobs[i] as Job).run());
        } catch (err) {
          // Expected refusals (queue_full) write nothing before throwing; the rest of the group commits.
          if (!(err instanceof HookhubError)) throw err;
          refused.add(i);
          values.push(err);
        }
      }
    });
    this.insertStmt = db.prepare(
      `INSERT INTO deliveries (id, url, host, method, headers, content_type, body, secret_mode, secret, timeout_ms, errback, callback,
         origin_kind, origin_ref, idempotency_key, max_attempts, status, next_at, lease_until, created_at, updated_at, order_key, order_pos)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byKey = db.prepare('SELECT id FROM deliveries WHERE idempotency_key = ? AND created_at > ? ORDER BY created_at LIMIT 1').pluck();
    this.byId = db.prepare('SELECT * FROM deliveries WHERE id = ?');
    // Positional parameters throughout the hot statements: binding an object by names costs more than the insert.
    // No bare `LIMIT ?` in them: SQLite plans a bound LIMIT as a constant and prepares the statement again
    // at every call (better-sqlite3 binds each time), which cost a claim more than reading its rows.
    // `LIMIT CAST(? AS INTEGER)` is evaluated when run.
    // A claimed delivery: found by rowid, its attempts appended to the column as claimed.
    this.finishClaimed = db.prepare('UPDATE deliveries SET status = ?, attempts = ?, next_at = COALESCE(?, next_at), updated_at = ? WHERE seq = ?');
    // Any other (a test's, or a claim given up meanwhile).
    const finishSet = `UPDATE deliveries SET status = ?, attempts = json_insert(attempts, '$[#]', json(?)),
         next_at = COALESCE(?, next_at), lease_until = NULL, updated_at = ? WHERE id = ?`;
    this.finishUnfinished = db.prepare(`${finishSet} AND status IN ('pending', 'delivering') RETURNING order_key`).pluck();
    this.finishAny = db.prepare(finishSet);
    // Claimed deliveries are pending on disk: every claim query passes over the held ones (@held).
    this.claimIds = db.prepare(
      `WITH due AS (
         SELECT seq, host, next_at FROM deliveries INDEXED BY deliveries_due
         WHERE status = 'pending' AND next_at <= @now AND host NOT IN (SELECT value FROM json_each(@skip))
           AND seq NOT IN (SELECT value FROM json_each(@held))
         ORDER BY next_at LIMIT CAST(@scan AS INTEGER)
       ), ranked AS (
         SELECT seq, next_at, ROW_NUMBER() OVER (PARTITION BY host ORDER BY next_at, seq) AS rn FROM due
       )
       SELECT seq FROM ranked WHERE rn <= @perHost ORDER BY next_at, seq LIMIT CAST(@limit AS INTEGER)`,
    ).pluck();
    this.rowsBySeq = db.prepare(`SELECT ${FIXED_COLUMNS} FROM deliveries WHERE seq IN (SELECT value FROM json_each(?))`).raw();
    this.changingBySeq = db.prepare(`SELECT ${CLAIM_COLUMNS} FROM deliveries WHERE seq IN (SELECT value FROM json_each(?))`).raw();
    this.firstDue = db.prepare(
      `SELECT next_at FROM deliveries INDEXED BY deliveries_due WHERE status = 'pending' AND seq NOT IN (SELECT value FROM json_each(?))
       ORDER BY next_at LIMIT 1`,
    ).pluck();
    this.firstDueAfter = db.prepare(
      `SELECT next_at FROM deliveries INDEXED BY deliveries_due WHERE status = 'pending' AND next_at > ? AND seq NOT IN (SELECT value FROM json_each(?))
       ORDER BY next_at LIMIT 1`,
    ).pluck();
    this.firstPendingHost = db.prepare(
      `SELECT host FROM deliveries INDEXED BY deliveries_pending_host WHERE status = 'pending' ORDER BY host LIMIT 1`,
    ).pluck();
    this.nextPendingHost = db.prepare(
      `SELECT host FROM deliveries INDEXED BY deliveries_pending_host WHERE status = 'pending' AND host > ? ORDER BY host LIMIT 1`,
    ).pluck();
    this.dueOfHost = db.prepare(
      `SELECT ${CLAIM_COLUMNS} FROM deliveries INDEXED BY deliveries_pending_host WHERE status = 'pending' AND host = ? AND next_at <= ?
         AND seq NOT IN (SELECT value FROM json_each(?))
       ORDER BY next_at, seq LIMIT CAST(? AS INTEGER)`,
    ).raw();
    this.laneTail = db.prepare(
      `SELECT MAX(order_pos) FROM deliveries INDEXED BY deliveries_lane WHERE order_key = ? AND status IN ('pending', 'delivering')`,
    ).pluck();
    this.laneNext = db.prepare(
      `UPDATE deliveries SET next_at = ? WHERE seq = (SELECT seq FROM deliveries INDEXED BY deliveries_lane
         WHERE order_key = ? AND status IN ('pending', 'delivering') ORDER BY order_pos LIMIT 1) AND next_at = ${HELD_BEHIND_EARLIER}`,
    );
    this.unfinished = db.prepare(`SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'delivering')`).pluck().get() as number;
  }

  /**
   * Runs `run` inside the next grouped transaction; resolves once it is committed. A `gather` job (an attempt's
   * record) lets the commit wait up to FINISH_GATHER_MS for others; any other job commits at the end of the turn.
   */
  private grouped<T>(run: () => T, gather = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (this.flushScheduled) return;
      if (!gather || this.jobs.length >= FINISH_GATHER_MAX) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      } else {
        this.gatherTimer ??= setTimeout(() => this.flush(), FINISH_GATHER_MS);
      }
    });
  }

  private flush(): void {
    clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    this.flushScheduled = false;
    if (this.jobs.length === 0) return;
    const jobs = this.jobs;
    this.jobs = [];
    const values: unknown[] = [];
    const refused = new Set<number>();
    const before = this.unfinished;
    this.claims.begin();
    this.recent.begin();
    try {
      this.runGroup(jobs, values, refused);
    } catch (err) {
      this.unfinished = before;
      this.claims.rollback();
      this.recent.rollback();
      for (const job of jobs) job.reject(err);
      return;
    }
    this.claims.commit();
    this.recent.commit();
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as Job;
      if (refused.has(i)) job.reject(values[i]);
      else job.resolve(values[i]);
    }
  }

  /** An ordered delivery's place at the end of its lane, and whether it is held behind an earlier one. */
  private lanePlace(key: string): { pos: number; held: boolean } {
    const tail = this.laneTail.get(key) as number | null;
    return { pos: (tail ?? 0) + 1, held: tail !== null };
  }

  private insert(d: NewDelivery, now: number): void {
    const claimed = d.claimNow === undefined ? d.claimUntil !== undefined : d.claimNow() && d.claimUntil !== undefined;
    const lane = d.orderKey === undefined ? undefined : this.lanePlace(d.orderKey);
    const { lastInsertRowid } = this.insertStmt.run(
      d.id,
      d.url,
      deliveryHost(d.url),
      d.method,
      headersText(d.headers),
      d.contentType ?? null,
      d.body,
      d.secret === undefined ? SECRET_DEFAULT : d.secret === null ? SECRET_NONE : SECRET_OWN,
      typeof d.secret === 'string' ? d.secret : null,
      d.timeoutMs ?? null,
      d.errback ?? null,
      d.callback ?? null,
      d.origin?.kind ?? null,
      d.origin?.ref ?? null,
      d.idempotencyKey ?? null,
      d.maxAttempts,
      'pending',
      lane?.held ? HELD_BEHIND_EARLIER : d.nextAt,
      null,
      now,
      now,
      d.orderKey ?? null,
      lane?.pos ?? null,
    );
    this.unfinished++;
    if (claimed) {
      this.claims.set(d.id, { seq: Number(lastInsertRowid), leaseUntil: d.claimUntil as number, attempts: '[]', orderKey: d.orderKey ?? null });
    } else this.recent.add(Number(lastInsertRowid), fixedPart(d, now));
  }

  enqueue(d: NewDelivery, limits: DeliveryLimits): Promise<{ id: string; created: boolean }> {
    return this.grouped(() => {
      const now = Date.now();
      if (d.idempotencyKey !== undefined) {
        const id = this.byKey.get(d.idempotencyKey, now - limits.idempotencyWindowMs) as string | undefined;
        if (id !== undefined) return { id, created: false };
      }
      if (this.unfinished >= limits.maxDepth) throw new HookhubError('queue_full', `webhook queue is full (${limits.maxDepth} deliveries waiting)`);
      this.insert(d, now);
      return { id: d.id, created: true };
    });
  }

  /** Claims share the grouped commit with the enqueues and finishes of the same turn; they write nothing. */
  claim(req: ClaimRequest): Promise<DeliveryRecord[]> {
    return this.grouped(() => {
      const scan = Math.max(64, req.limit * CLAIM_SCAN_FACTOR);
      const held = this.claims.seqs(req.now);
      let rows = this.claimSimple(req, scan, held);
      if (rows === undefined) {
        const seqs = this.claimIds.all({ now: req.now, skip: JSON.stringify(req.skipHosts), held, perHost: req.perHost, limit: req.limit, scan }) as number[];
        if (seqs.length === 0) {
          req.onExhausted?.();
          return [];
        }
        const order = new Map(seqs.map((seq, i) => [seq, i]));
        rows = (this.changingBySeq.all(JSON.stringify(seqs)) as Changing[]).sort((a, b) => (order.get(a[0]) ?? 0) - (order.get(b[0]) ?? 0));
      }
      const leaseUntil = req.now + req.leaseMs;
      const changing = rows;
      const records = this.claimedRecords(rows).map((d, i) => {
        this.claims.set(d.id, { seq: d.seq, leaseUntil, attempts: (changing[i] as Changing)[2] ?? '[]', orderKey: d.orderKey ?? null });
        d.status = 'delivering';
        d.leaseUntil = leaseUntil;
        return d;
      });
      if (req.onExhausted && exhausted(records, req)) req.onExhausted();
      return records;
    });
  }

  /** The records of claimed rows, in their order: fixed parts kept by RecentRows, the rest read whole. */
  private claimedRecords(rows: Changing[]): DeliveryRecord[] {
    const records: Array<DeliveryRecord | undefined> = [];
    const missing: number[] = [];
    for (const c of rows) {
      const f = this.recent.take(c[0], c[1]);
      records.push(f && fromParts(f, c));
      if (!f) missing.push(c[0]);
    }
    if (missing.length === 0) return records as DeliveryRecord[];
    const read = new Map<number, FixedPart>();
    for (const v of this.rowsBySeq.all(JSON.stringify(missing)) as unknown[][]) read.set(v[0] as number, fixedOf(v));
    return records.map((d, i) => {
      if (d) return d;
      const c = rows[i] as Changing;
      return fromParts(read.get(c[0]) as FixedPart, c);
    });
  }

  /**
   * The claim's answer when at most one host outside `skipHosts` has pending rows (a few index probes):
   * nothing, or that host's oldest due rows. Undefined: run the general claim. Same rows as the general
   * claim, without scanning a full host's backlog or ranking a window.
   */
  private claimSimple(req: ClaimRequest, scan: number, held: string): Changing[] | undefined {
    const skip = new Set(req.skipHosts);
    let only: string | undefined;
    for (let host = this.firstPendingHost.get() as string | undefined; host !== undefined; host = this.nextPendingHost.get(host) as string | undefined) {
      if (skip.has(host)) continue;
      if (only !== undefined) return undefined;
      only = host;
    }
    if (only === undefined) return [];
    return this.dueOfHost.all(only, req.now, held, Math.min(req.limit, req.perHost, scan)) as Changing[];
  }

  /** A row as the log shows it: claimed ones are delivering (on disk they stay pending). */
  private record(row: Row): DeliveryRecord {
    const d = fromRow(row);
    const claim = this.claims.get(d.id);
    if (claim) {
      d.status = 'delivering';
      d.leaseUntil = claim.leaseUntil;
    }
    return d;
  }

  finish(id: string, outcome: AttemptOutcome, followUp?: NewDelivery): Promise<void> {
    return this.grouped(() => {
      const now = Date.now();
      const claim = this.claims.get(id);
      if (claim) {
        this.finishClaimedRow(id, claim, outcome, now);
        if (followUp) this.insert(followUp, now);
        return;
      }
      const params = [outcome.status, JSON.stringify(outcome.attempt), outcome.nextAt ?? null, now, id];
      const updated = this.finishUnfinished.all(...params) as Array<string | null>;
      if (updated.length === 1) {
        const orderKey = updated[0];
        if (outcome.status !== 'pending') {
          this.unfinished--;
          if (orderKey !== null && orderKey !== undefined) this.laneNext.run(now, orderKey);
        }
      } else if (this.finishAny.run(...params).changes === 1 && outcome.status === 'pending') {
        this.unfinished++; // finished meanwhile (e.g. by another worker) and pending again
      }
      if (followUp) this.insert(followUp, now);
    }, true);
  }

  /** Records the attempt of a delivery this process claimed: one update by rowid, nothing read. */
  private finishClaimedRow(id: string, claim: { seq: number; attempts: string; orderKey: string | null }, outcome: AttemptOutcome, now: number): void {
    const attempt = JSON.stringify(outcome.attempt);
    const attempts = claim.attempts === '[]' ? `[${attempt}]` : `${claim.attempts.slice(0, -1)},${attempt}]`;
    this.finishClaimed.run(outcome.status, attempts, outcome.nextAt ?? null, now, claim.seq);
    this.claims.delete(id);
    if (outcome.status === 'pending') return;
    this.unfinished--;
    if (claim.orderKey !== null) this.laneNext.run(now, claim.orderKey);
  }

  async renew(ids: readonly string[], leaseUntil: number): Promise<void> {
    for (const id of ids) {
      const claim = this.claims.get(id);
      if (claim) claim.leaseUntil = leaseUntil;
    }
  }

  /** Claims given back are pending on disk already, and due (they were claimed due). */
  async release(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.claims.delete(id);
  }

  /**
   * Claims whose lease ended by `now`, and rows an older version left claimed on disk (status delivering),
   * become pending.
   */
  async recover(now: number): Promise<number> {
    const onDisk = this.db.prepare(`UPDATE deliveries SET status = 'pending', lease_until = NULL, next_at = MIN(next_at, ?) WHERE status = 'delivering'`)
      .run(now).changes;
    return onDisk + this.claims.dropLapsed(now);
  }

  async nextDueAfter(now: number): Promise<number | undefined> {
    return (this.firstDueAfter.get(now, this.claims.seqs()) as number | null) ?? undefined;
  }

  async nextDueAt(): Promise<number | undefined> {
    const due = this.firstDue.get(this.claims.seqs()) as number | undefined;
    const lease = this.claims.firstLeaseEnd();
    if (due === undefined) return lease;
    return lease === undefined ? due : Math.min(due, lease);
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const row = this.byId.get(id) as Row | undefined;
    return row && this.record(row);
  }

  async list(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.before !== undefined) {
      where.push('seq < ?');
      params.push(q.before);
    }
    if (q.status !== undefined) {
      // A literal (from a closed set), so that the partial indexes on status apply.
      if (!STATUSES.has(q.status)) return [];
      // Claimed deliveries are pending on disk and delivering in the log.
      if (q.status === 'delivering') where.push(`(status = 'delivering' OR seq IN (SELECT value FROM json_each(?)))`);
      else where.push(`status = '${q.status}'`);
      if (q.status === 'pending') where.push('seq NOT IN (SELECT value FROM json_each(?))');
      if (q.status === 'pending' || q.status === 'delivering') params.push(this.claims.seqs());
    }
    if (q.target !== undefined) {
      if (q.target.includes('://')) {
        where.push(`url LIKE ? ESCAPE '\\'`);
        params.push(`${q.target.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      } else {
        where.push('host = ?');
        params.push(q.target.toLowerCase());
      }
    }
    // Unfinished deliveries are few: read them through their partial index rather than the whole log.
    const index = q.status === 'pending' ? 'INDEXED BY deliveries_due' : '';
    const sql = `SELECT * FROM deliveries ${index} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...params, q.limit) as Row[]).map((row) => this.record(row));
  }

  async retry(id: string, now: number): Promise<'queued' | 'in_flight' | 'not_found'> {
    return this.db.transaction(() => {
      const row = this.byId.get(id) as Row | undefined;
      if (!row) return 'not_found' as const;
      if (row.status === 'delivering' || this.claims.has(id)) return 'in_flight' as const;
      if (row.next_at === HELD_BEHIND_EARLIER) return 'queued' as const; // already waiting its turn
      const attempts = (JSON.parse(row.attempts) as unknown[]).length;
      // A finished ordered delivery queues again at the end of its lane.
      const lane = row.order_key !== null && row.status !== 'pending' ? this.lanePlace(row.order_key) : undefined;
      this.db.prepare(`UPDATE deliveries SET status = 'pending', next_at = ?, max_attempts = MAX(max_attempts, ?), updated_at = ?,
          order_pos = COALESCE(?, order_pos) WHERE id = ?`)
        .run(lane?.held ? HELD_BEHIND_EARLIER : now, attempts + 1, now, lane?.pos ?? null, id);
      if (row.status !== 'pending') this.unfinished++;
      return 'queued' as const;
    })();
  }

  park(id: string): Promise<void> {
    return this.grouped(() => {
      this.claims.delete(id);
      this.db.prepare(`UPDATE deliveries SET status = 'pending', next_at = ${PARKED}, lease_until = NULL
          WHERE id = ? AND status IN ('pending', 'delivering')`).run(id);
    });
  }

  unpark(matches: (d: ParkedDelivery) => boolean, now: number, limit = Infinity): Promise<number> {
    return this.grouped(() => {
      const parked = this.db.prepare(`SELECT seq, url, created_at FROM deliveries INDEXED BY deliveries_due
          WHERE status = 'pending' AND next_at = ${PARKED} ORDER BY seq`).raw().all() as Array<[number, string, number]>;
      const seqs = parked.filter(([, url, createdAt]) => matches({ url, createdAt })).slice(0, limit).map(([seq]) => seq);
      if (seqs.length === 0) return 0;
      return this.db.prepare(`UPDATE deliveries SET next_at = ? WHERE seq IN (SELECT value FROM json_each(?)) AND next_at = ${PARKED}`)
        .run(now, JSON.stringify(seqs)).changes;
    });
  }

  async depth(): Promise<number> {
    return this.unfinished;
  }

  async pruneBeyond(keep: number): Promise<number> {
    return this.db.prepare(`DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries INDEXED BY deliveries_finished
        WHERE status IN ('succeeded', 'failed') ORDER BY updated_at DESC, seq DESC LIMIT -1 OFFSET ?)`).run(keep).changes;
  }

  async prune(before: number): Promise<number> {
    return this.db.prepare(`DELETE FROM deliveries WHERE status IN ('succeeded', 'failed') AND updated_at < ?`).run(before).changes;
  }
}
