// Topic log on disk: offsets and history survive restarts and kill -9 (WAL; committed before append resolves).
// Each topic's epoch is made with its row and kept as long as the data dir is.
import type { Database, Statement } from 'better-sqlite3';
import { newEpoch } from '../../core/epoch.js';
import { committedMessage, type Message, type NewMessage } from '../../core/message.js';
import type { TopicBounds, TopicInfo, TopicLog, TopicPage } from '../../core/topic-log.js';
import { migrate } from './schema.js';

const SCHEMA = [
  `CREATE TABLE topics (
     name TEXT PRIMARY KEY,
     last_offset INTEGER NOT NULL,
     history_size INTEGER
   );
   CREATE TABLE messages (
     topic TEXT NOT NULL,
     offset INTEGER NOT NULL,
     id TEXT NOT NULL,
     time INTEGER NOT NULL,
     content_type TEXT NOT NULL,
     body BLOB NOT NULL,
     PRIMARY KEY (topic, offset)
   ) WITHOUT ROWID;`,
  `ALTER TABLE messages ADD COLUMN author TEXT;`,
  `ALTER TABLE topics ADD COLUMN epoch TEXT;
   UPDATE topics SET epoch = lower(hex(randomblob(4))) WHERE epoch IS NULL;`,
];

interface MessageRow {
  offset: number;
  id: string;
  time: number;
  content_type: string;
  body: Buffer;
  author: string | null;
}

export class SqliteTopicLog implements TopicLog {
  private readonly listeners: Array<(m: Message) => void> = [];
  private readonly bump: Statement;
  private readonly insert: Statement;
  private readonly trim: Statement;
  private readonly select: Statement;
  private readonly head: Statement;
  private readonly oldest: Statement;
  private readonly commit: (topic: string, input: NewMessage) => Message;

  constructor(private readonly db: Database, private readonly defaultHistorySize: number) {
    migrate(db, 'topics', SCHEMA);
    this.bump = db.prepare(
      `INSERT INTO topics (name, last_offset, epoch) VALUES (?, 1, ?)
       ON CONFLICT(name) DO UPDATE SET last_offset = last_offset + 1
       RETURNING last_offset, history_size, epoch`,
    );
    this.insert = db.prepare('INSERT INTO messages (topic, offset, id, time, content_type, body, author) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.trim = db.prepare('DELETE FROM messages WHERE topic = ? AND offset <= ?');
    // LIMIT CAST(? AS INTEGER), not a bare `LIMIT ?`: SQLite prepares a statement with a bound LIMIT again at
    // every run (see delivery-queue.ts); a history read cost about twice as much.
    this.select = db.prepare('SELECT offset, id, time, content_type, body, author FROM messages WHERE topic = ? AND offset > ? ORDER BY offset LIMIT CAST(? AS INTEGER)');
    this.head = db.prepare('SELECT last_offset, epoch FROM topics WHERE name = ?');
    this.oldest = db.prepare('SELECT MIN(offset) FROM messages WHERE topic = ?').pluck();
    this.commit = db.transaction((topic: string, input: NewMessage): Message => {
      const row = this.bump.get(topic, newEpoch()) as { last_offset: number; history_size: number | null; epoch: string };
      const m = committedMessage(topic, row.last_offset, row.epoch, input);
      const size = row.history_size ?? this.defaultHistorySize;
      if (size > 0) this.insert.run(topic, m.offset, m.id, m.time, m.contentType, m.body, m.author ?? null);
      // Keep the newest `size` messages; an index range delete of (usually) one row.
      if (m.offset > size) this.trim.run(topic, m.offset - size);
      return m;
    });
  }

  async append(topic: string, input: NewMessage): Promise<Message> {
    const m = this.commit(topic, input);
    for (const fn of this.listeners) fn(m);
    return m;
  }

  async read(topic: string, since: number, limit: number): Promise<Message[]> {
    const rows = this.select.all(topic, since, limit) as MessageRow[];
    if (rows.length === 0) return [];
    const epoch = this.headRow(topic)?.epoch ?? '';
    return rows.map((r) => {
      const m: Message = { topic, offset: r.offset, id: r.id, time: r.time, contentType: r.content_type, body: r.body, epoch };
      if (r.author !== null) m.author = r.author;
      return m;
    });
  }

  private headRow(topic: string): { last_offset: number; epoch: string } | undefined {
    return this.head.get(topic) as { last_offset: number; epoch: string } | undefined;
  }

  async bounds(topic: string): Promise<TopicBounds> {
    const head = this.headRow(topic);
    const last = head?.last_offset ?? 0;
    const first = (this.oldest.get(topic) as number | null | undefined) ?? last + 1;
    return { first, last, epoch: head?.epoch ?? '' };
  }

  onAppend(fn: (m: Message) => void): void {
    this.listeners.push(fn);
  }

  async setHistorySize(topic: string, size: number | null): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO topics (name, last_offset, history_size, epoch) VALUES (?, 0, ?, ?) ON CONFLICT(name) DO UPDATE SET history_size = excluded.history_size')
        .run(topic, size, newEpoch());
      const last = (this.headRow(topic) as { last_offset: number }).last_offset;
      this.trim.run(topic, last - (size ?? this.defaultHistorySize));
    })();
  }

  async list(page: TopicPage = {}): Promise<TopicInfo[]> {
    const rows = this.db.prepare(
      `SELECT t.name AS topic, t.last_offset AS last, t.history_size AS size,
              (SELECT COUNT(*) FROM messages m WHERE m.topic = t.name) AS kept
       FROM topics t WHERE t.name > ? ORDER BY t.name LIMIT CAST(? AS INTEGER)`,
    ).all(page.after ?? '', page.limit ?? -1) as Array<{ topic: string; last: number; size: number | null; kept: number }>;
    return rows.map((r) => ({ topic: r.topic, last: r.last, kept: r.kept, historySize: r.size ?? this.defaultHistorySize }));
  }

  async count(): Promise<number> {
    return this.db.prepare('SELECT COUNT(*) FROM topics').pluck().get() as number;
  }
}
