// Channel option `polling {url, interval, mode}`: this node fetches the URL and publishes each answer
// to the channel. simple: every `interval` seconds; persistent: again as soon as an answer came
// (long polling), `interval` after a failure; once: a single fetch; "" (the default): off.
// Outgoing requests obey the SSRF guard.
import type { FastifyBaseLogger } from 'fastify';
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import { isRecord } from '../core/is-record.js';
import { parseJsonInput } from '../core/json-input.js';
import { readCapped } from '../core/read-capped.js';
import { checkTargetUrl } from '../core/target-guard.js';
import type { Channel, Poller, PollTarget } from './model.js';
import { ChannelError } from './channel-error.js';
import type { ChannelOptions } from './options.js';

const isReply = (v: unknown): v is [boolean, Record<string, unknown>] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'boolean' && isRecord(v[1]);

export interface PollerOptions {
  dispatcher: Dispatcher;
  timeoutMs: number;
  maxBody: number;
  allowPrivate: boolean;
  /** Answers nested deeper (--max-json-depth) are not published. */
  maxJsonDepth: number;
  /** --cb-secret: persistent and once polls POST it as `secret`, as Hookbox's did (they went through its callback path). */
  secret?: string | undefined;
  log: FastifyBaseLogger;
}

/** Shortest time between two long-poll requests. */
const MIN_PERSISTENT_GAP_MS = 100;

interface Running {
  stopped: boolean;
  timer?: NodeJS.Timeout;
  abort: AbortController;
}

export class ChannelPoller implements Poller {
  private readonly running = new Map<Channel, Running>();
  /** Polls under way (a stopped one may still be publishing its answer): stopAll waits for them. */
  private readonly inFlight = new Set<Promise<boolean>>();

  constructor(private readonly channels: PollTarget, private readonly options: PollerOptions) {}

  /** Refuses polling URLs the SSRF guard forbids. */
  check(options: ChannelOptions): void {
    if (!options.polling.url) return;
    try {
      checkTargetUrl(options.polling.url, this.options.allowPrivate, 'polling.url');
    } catch (err) {
      throw new ChannelError((err as Error).message);
    }
  }

  start(ch: Channel): void {
    this.stop(ch);
    if (ch.options.polling.mode === '' || !ch.options.polling.url) return;
    const run: Running = { stopped: false, abort: new AbortController() };
    this.running.set(ch, run);
    const { mode, interval } = ch.options.polling;
    const pause = interval * 1000;
    const next = (ms: number): void => {
      if (run.stopped) return;
      run.timer = setTimeout(tick, ms);
      run.timer.unref();
    };
    const tick = (): void => {
      const started = Date.now();
      const polled = this.poll(ch, run);
      this.inFlight.add(polled);
      void polled.then((ok) => {
        this.inFlight.delete(polled);
        if (mode === 'once') return this.forget(ch, run);
        // Long polling: ask again at once — but not in a hot loop against a server that answers instantly.
        next(mode === 'persistent' && ok ? Math.max(0, MIN_PERSISTENT_GAP_MS - (Date.now() - started)) : pause);
      });
    };
    next(0);
  }

  stop(ch: Channel): void {
    const run = this.running.get(ch);
    if (!run) return;
    run.stopped = true;
    clearTimeout(run.timer);
    run.abort.abort();
    this.running.delete(ch);
  }

  /** Stops every channel's polling; resolves once no poll is under way (fetches are aborted; a publish ends). */
  async stopAll(): Promise<void> {
    for (const ch of [...this.running.keys()]) this.stop(ch);
    await Promise.all([...this.inFlight]);
  }

  private forget(ch: Channel, run: Running): void {
    if (this.running.get(ch) === run) this.running.delete(ch);
  }

  /**
   * One fetch; publishes a non-empty 2xx answer (JSON when it parses, else text). simple: GET.
   * persistent/once: a form POST (Hookbox), and an answer shaped like a callback reply,
   * [true, {payload, ...options}], publishes `payload` and applies the other keys as channel options.
   */
  private async poll(ch: Channel, run: Running): Promise<boolean> {
    const { url, form, originator, mode } = ch.options.polling;
    const timer = setTimeout(() => run.abort.abort(), this.options.timeoutMs);
    try {
      const post = mode !== 'simple' || Object.keys(form).length > 0;
      const fields = new URLSearchParams(form);
      if (mode !== 'simple' && this.options.secret !== undefined) fields.set('secret', this.options.secret);
      const res = await request(url, {
        method: post ? 'POST' : 'GET',
        ...(post ? { body: fields.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
        dispatcher: this.options.dispatcher,
        signal: run.abort.signal,
      });
      const body = await readCapped(res.body, this.options.maxBody);
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
      const text = body.toString('utf8');
      if (text.trim() === '' || run.stopped || ch.destroyed) return true;
      const json = parseJsonInput(text, this.options.maxJsonDepth);
      // Not JSON: published as text. JSON too deep or with __proto__ keys: refused (logged below).
      if (!json.ok && json.kind !== 'malformed') throw new Error(`polling answer refused: ${json.reason}`);
      let payload: unknown = json.ok ? json.value : text;
      if (mode !== 'simple' && isReply(payload)) {
        if (!payload[0]) throw new Error(`polling answer refused: ${JSON.stringify(payload[1]).slice(0, 200)}`);
        const { payload: inner, ...options } = payload[1];
        if (Object.keys(options).length > 0) await this.channels.setChannelOptions(ch, options, false);
        if (inner === undefined) return true;
        payload = inner;
      }
      await this.channels.publishFromApp(ch.name, payload, originator || null, false);
      return true;
    } catch (err) {
      if (!run.stopped) this.options.log.warn({ channel: ch.name, err: (err as Error).message }, 'channel polling failed');
      if (run.abort.signal.aborted && !run.stopped) run.abort = new AbortController();
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
