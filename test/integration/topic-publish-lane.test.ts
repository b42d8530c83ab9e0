// POST /api/topics/:topic/publish is answered by a fast lane beside Fastify (api/publish-lane.ts) when
// Fastify would add nothing to the request. Its answers must be the route's, byte for byte; whatever it
// cannot answer the same goes to the route. Requests go on raw sockets: to `/api/topics/<t>/publish` (the
// lane) and to the same path with an empty query string `?` (the same route, which the lane leaves to
// Fastify), and the two answers are compared.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { storeUnavailable } from '../../src/core/store-down.js';
import { fastLanesOf } from '../../src/http/app.js';
import { startServer, type Hookhub } from '../../src/server.js';
import { createStore } from '../../src/store/index.js';
import { testConfig } from '../helpers/config.js';
import { call } from '../helpers/http.js';
import { captureLog } from '../helpers/log-capture.js';
import { startHub } from '../helpers/server.js';
import { NdjsonClient } from '../helpers/stream-client.js';
import { rawPost } from '../helpers/raw-post.js';

const started: Hookhub[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((h) => h.close()));
});

/** One request on its own connection (test/helpers/raw-post.ts). */
function exchange(hub: Hookhub, path: string, body: string, headers: Record<string, string>): Promise<string> {
  return rawPost(hub.url, path, body, headers);
}

const TEXT = { 'content-type': 'text/plain' };
const JSON_TYPE = { 'content-type': 'application/json' };
const path = (topic: string): string => `/api/topics/${topic}/publish`;

/** An answer with what each publish made (its id and offset, hence its length) blanked out. */
const published = (s: string): string =>
  s.replace(/"id":"[0-9a-f-]{36}","offset":\d+/, '"id":"…","offset":…').replace(/^content-length: \d+\r\n/im, 'content-length: …\r\n');

/** The lane's answer and the route's to the same request, and how many requests the lane took meanwhile. */
async function both(hub: Hookhub, topic: string, body: string, headers: Record<string, string>): Promise<{ lane: string; route: string; taken: number }> {
  const lanes = fastLanesOf(hub.app);
  const before = lanes.taken();
  const lane = await exchange(hub, path(topic), body, headers);
  const route = await exchange(hub, `${path(topic)}?`, body, headers);
  return { lane, route, taken: lanes.taken() - before };
}

interface History { messages: Array<{ topic: string; offset: number; contentType: string; data: unknown; encoding?: string }> }
const history = async (hub: Hookhub, topic: string): Promise<History['messages']> =>
  (await call<History>(`${hub.url}/api/topics/${encodeURIComponent(topic)}/history`)).body.messages;

describe('POST /api/topics/:topic/publish through the fast lane', () => {
  it('takes a plain publish, answers it as the route does, and a /stream subscriber receives it', async () => {
    const hub = await startHub();
    const client = await NdjsonClient.open(`${hub.url}/stream?topic=news`);
    const { lane, route, taken } = await both(hub, 'news', '{"headline":"one"}', JSON_TYPE);
    expect(taken).toBe(1);
    expect(lane).toMatch(/^HTTP\/1\.1 202 Accepted\r\n/);
    expect(lane).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/);
    expect(lane).toMatch(/\r\n\r\n\{"id":"[0-9a-f-]{36}","offset":1\}$/);
    expect(route).toMatch(/\r\n\r\n\{"id":"[0-9a-f-]{36}","offset":2\}$/);
    expect(published(lane)).toBe(published(route));
    const [head, body] = lane.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(new RegExp(`\r\ncontent-length: ${Buffer.byteLength(body)}(\r\n|$)`));
    const laneId = /"id":"([^"]+)"/.exec(lane)?.[1];
    const lines = (await client.waitForLines(2)) as Array<Record<string, unknown>>;
    expect(lines[0]).toMatchObject({ topic: 'news', offset: 1, id: laneId, contentType: 'application/json', data: { headline: 'one' } });
    expect(lines[1]).toMatchObject({ topic: 'news', offset: 2, data: { headline: 'one' } });
    client.close();
  });

  it('answers a body that comes in pieces once its last byte is in, an empty body at once, and publishes nothing for a body cut short', async () => {
    const hub = await startHub();
    const lanes = fastLanesOf(hub.app);
    const before = lanes.taken();
    const { port } = new URL(hub.url);
    /** Sends the request a piece at a time, `pauseMs` apart; the answer, or '' when the connection closed without one. */
    const inPieces = (pieces: string[], pauseMs: number, end: boolean): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', async () => {
          for (const piece of pieces) {
            socket.write(piece, 'latin1');
            await new Promise((r) => setTimeout(r, pauseMs));
          }
          if (end) socket.end();
          else socket.destroy();
        });
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', reject);
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      });
    const body = 'héllo, in three pieces';
    const bytes = Buffer.from(body);
    const head = (length: number): string => `POST ${path('pieces')} HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: ${length}\r\nconnection: close\r\n\r\n`;
    // A cut inside the two bytes of é: the body is whole only with its last byte.
    const split = [bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)].map((b) => b.toString('latin1'));
    const answer = await inPieces([head(bytes.length), ...split], 40, true);
    expect(answer).toMatch(/^HTTP\/1\.1 202 Accepted\r\n[\s\S]*"offset":1\}$/);
    const empty = await inPieces([head(0)], 0, true);
    expect(empty).toMatch(/^HTTP\/1\.1 202 Accepted\r\n[\s\S]*"offset":2\}$/);
    // Half a body, then the connection goes: nothing is published, and the server goes on.
    expect(await inPieces([head(bytes.length), split[0] as string], 40, false)).toBe('');
    expect(lanes.taken() - before).toBe(3);
    const messages = await history(hub, 'pieces');
    expect(messages.map((m) => [m.offset, m.data])).toEqual([[1, body], [2, '']]);
  });

  it('keeps the bytes and the content type as sent', async () => {
    const hub = await startHub();
    const lanes = fastLanesOf(hub.app);
    const before = lanes.taken();
    const sent = [
      ['text/plain; charset=utf-8', 'plain text ünïcode'],
      ['application/x-www-form-urlencoded', 'a=1&b=2'],
      ['application/json', ''],
      ['Application/Vnd.Odd+JSON ; q=1', '{"odd":true}'],
    ] as const;
    for (const [type, body] of sent) expect(await exchange(hub, path('raw'), body, { 'content-type': type })).toMatch(/^HTTP\/1\.1 202 /);
    expect(lanes.taken() - before).toBe(sent.length);
    const messages = await history(hub, 'raw');
    expect(messages.map((m) => m.contentType)).toEqual(sent.map(([type]) => type));
    expect(messages.map((m) => m.data)).toEqual(['plain text ünïcode', { a: '1', b: '2' }, '', { odd: true }]);
  });

  it('answers refusals as the route does: a bad topic name, JSON nested too deep', async () => {
    const hub = await startHub({ maxJsonDepth: 3 });
    const cases: Array<[string, string, Record<string, string>, RegExp]> = [
      ['t'.repeat(300), 'x', TEXT, /^HTTP\/1\.1 400 .*"error":"topic longer than 256 characters","code":"bad_topic"/s],
      ['deep', '[[[[1]]]]', JSON_TYPE, /^HTTP\/1\.1 400 .*nested deeper than 3 levels/s],
      ['deep', '{"a":{"b":{"c":{"d":1}}}}', { 'content-type': 'application/json; charset=utf-8' }, /^HTTP\/1\.1 400 .*nested deeper than 3 levels/s],
    ];
    for (const [topic, body, headers, answer] of cases) {
      const { lane, route, taken } = await both(hub, topic, body, headers);
      expect(taken, body).toBe(1);
      expect(lane, body).toMatch(answer);
      expect(lane, body).toBe(route);
    }
    // Nothing was published.
    expect((await call<{ topics: unknown[] }>(`${hub.url}/api/topics`)).body.topics).toEqual([]);
    // What differs only by what each publish made: an empty body, an empty or odd content type, a dot segment.
    const accepted: Array<[string, string, Record<string, string>]> = [
      ['e', '', TEXT],
      ['..', 'x', TEXT],
      ['a:b@c.d', 'x', TEXT],
    ];
    for (const [topic, body, headers] of accepted) {
      const { lane, route, taken } = await both(hub, topic, body, headers);
      expect(taken, topic).toBe(1);
      expect(lane, topic).toMatch(/^HTTP\/1\.1 202 /);
      expect(published(lane), topic).toBe(published(route));
    }
    // (By name in the list: a client's URL parser would resolve `..` in a history path.)
    const listed = (await call<{ topics: Array<{ topic: string }> }>(`${hub.url}/api/topics`)).body.topics.map((t) => t.topic);
    expect(listed).toContain('..');
  });

  it('takes the content types Fastify takes and leaves it the others (its 415)', async () => {
    const hub = await startHub();
    const valid = ['text/plain', 'TEXT/Plain', ' text/plain ', 'text/plain;', 'text/plain ;a=b', 'text/plain;;', 'a/b; junk', "x!#$%&'*+.^_`|~-/y"];
    const invalid = ['', 'x', ';;', 'text/', '/plain', 'text/plain/x', 'text /plain', 'text/pla in', 'undefined', 'text/plain,a/b', 'täxt/plain'];
    for (const type of [...valid, ...invalid]) {
      const { lane, route, taken } = await both(hub, 'types', 'x', { 'content-type': type });
      expect(taken, type).toBe(valid.includes(type) ? 1 : 0);
      expect(lane, type).toMatch(valid.includes(type) ? /^HTTP\/1\.1 202 / : /^HTTP\/1\.1 415 /);
      expect(published(lane), type).toBe(published(route));
    }
  });

  it('answers a store that cannot take writes as the route does (503 and Retry-After; an unexpected failure 500)', async () => {
    const config = testConfig();
    const store = await createStore(config);
    let down = false;
    store.assertWritable = () => {
      if (down) throw storeUnavailable('test says so');
    };
    const hub = await startServer(config, { store });
    started.push(hub);
    down = true;
    const refused = await both(hub, 't', 'x', TEXT);
    expect(refused.taken).toBe(1);
    expect(refused.lane).toMatch(/^HTTP\/1\.1 503 .*retry-after: 1\r\n.*"code":"store_unavailable"/s);
    expect(refused.lane).toBe(refused.route);
    down = false;
    const append = store.topics.append.bind(store.topics);
    store.topics.append = () => Promise.reject(new Error('disk on fire'));
    const failed = await both(hub, 't', 'x', TEXT);
    expect(failed.taken).toBe(1);
    expect(failed.lane).toMatch(/^HTTP\/1\.1 500 .*"error":"internal error"/s);
    expect(failed.lane).toBe(failed.route);
    store.topics.append = append;
    expect(await exchange(hub, path('t'), 'x', TEXT)).toMatch(/^HTTP\/1\.1 202 /);
  });

  it('with --api-key takes only the key requireKey takes; a wrong or missing key is the route\'s 401', async () => {
    const hub = await startHub({ apiKey: 'k3y', maxBody: 64 });
    const lanes = fastLanesOf(hub.app);
    let taken = lanes.taken();
    expect(await exchange(hub, path('k'), 'x', { ...TEXT, authorization: 'Bearer k3y' })).toMatch(/^HTTP\/1\.1 202 /);
    expect(await exchange(hub, path('k'), 'x', { ...TEXT, authorization: 'bearer   k3y' })).toMatch(/^HTTP\/1\.1 202 /);
    taken += 2;
    expect(lanes.taken()).toBe(taken);
    const refusals: Array<[string, Record<string, string>]> = [
      [path('k'), { authorization: 'Bearer nope' }],
      [path('k'), { authorization: 'Basic azNrOms=' }],
      [path('k'), {}],
      // requireKey takes no ?key= on this route: neither does the lane (it leaves query strings to the route).
      [`${path('k')}?key=k3y`, {}],
    ];
    for (const [target, headers] of refusals) {
      const answer = await exchange(hub, target, 'x', { ...TEXT, ...headers });
      expect(answer, target).toMatch(/^HTTP\/1\.1 401 .*"error":"missing or wrong key","code":"unauthorized"/s);
    }
    expect(lanes.taken()).toBe(taken);
    const withKey = await call<History>(`${hub.url}/api/topics/k/history`, { headers: { authorization: 'Bearer k3y' } });
    expect(withKey.body.messages.map((m) => m.data)).toEqual(['x', 'x']);
  });

  it('leaves to Fastify a body over --max-body (its 413), a chunked body, an encoded topic, a query string, no content type', async () => {
    const hub = await startHub({ maxBody: 64 });
    const lanes = fastLanesOf(hub.app);
    let taken = lanes.taken();
    expect(await exchange(hub, path('big'), 'x'.repeat(64), TEXT)).toMatch(/^HTTP\/1\.1 202 /);
    expect(lanes.taken()).toBe(++taken);
    expect(await exchange(hub, path('big'), 'x'.repeat(65), TEXT)).toMatch(/^HTTP\/1\.1 413 .*body larger than 64 bytes/s);
    expect(await exchange(hub, path('big'), 'y'.repeat(65), { ...TEXT, 'transfer-encoding': 'chunked' })).toMatch(/^HTTP\/1\.1 413 .*body larger than 64 bytes/s);
    expect((await history(hub, 'big')).length).toBe(1);
    const through: Array<[string, string, Record<string, string>]> = [
      [path('chunked'), 'in two chunks', { ...TEXT, 'transfer-encoding': 'chunked' }],
      [path('a%2Fb'), 'encoded', TEXT],
      [path('a%20b'), 'encoded', TEXT],
      [`${path('q')}?x=1`, 'query', TEXT],
      [path('none'), 'no type', {}],
    ];
    for (const [target, body, headers] of through) expect(await exchange(hub, target, body, headers), target).toMatch(/^HTTP\/1\.1 202 /);
    expect(lanes.taken()).toBe(taken);
    expect((await history(hub, 'chunked')).map((m) => m.data)).toEqual(['in two chunks']);
    expect((await history(hub, 'a/b')).map((m) => m.data)).toEqual(['encoded']);
    expect((await history(hub, 'a b')).map((m) => m.data)).toEqual(['encoded']);
    expect((await history(hub, 'q')).map((m) => m.data)).toEqual(['query']);
    expect((await history(hub, 'none')).map((m) => [m.contentType, m.data])).toEqual([['application/octet-stream', 'no type']]);
  });

  it('leaves to the router what it would not match as written: a fragment, a longer topic than it matches, other paths', async () => {
    const hub = await startHub();
    const lanes = fastLanesOf(hub.app);
    const taken = lanes.taken();
    const cases: Array<[string, RegExp]> = [
      [path('a#b'), /^HTTP\/1\.1 404 /],
      [path('t'.repeat(1025)), /^HTTP\/1\.1 414 /],
      ['/api/topics//publish', /^HTTP\/1\.1 400 .*"code":"bad_topic"/s],
      ['/api/topics/publish', /^HTTP\/1\.1 404 /],
      [path('a/b'), /^HTTP\/1\.1 404 /],
      [`${path('t')}/`, /^HTTP\/1\.1 404 /],
    ];
    for (const [target, answer] of cases) expect(await exchange(hub, target, 'x', TEXT), target.slice(0, 40)).toMatch(answer);
    expect(lanes.taken()).toBe(taken);
    // The longest topic the router matches is the lane's: answered 400 there as by the route.
    const { lane, route, taken: once } = await both(hub, 't'.repeat(1024), 'x', TEXT);
    expect(once).toBe(1);
    expect(lane).toMatch(/^HTTP\/1\.1 400 .*"code":"bad_topic"/s);
    expect(lane).toBe(route);
  });

  it('writes the request line the route writes, with its request id, while request lines are logged', async () => {
    const log = captureLog('info');
    const hub = await startServer(testConfig({ logLevel: 'info' }), { logger: log.logger as unknown as FastifyBaseLogger });
    started.push(hub);
    const { taken } = await both(hub, 'logged', 'x', TEXT);
    expect(taken).toBe(1);
    const lines = log.lines.filter((l) => l.msg === 'request');
    expect(lines.map((l) => [l.method, l.url, l.status])).toEqual([['POST', path('logged'), 202], ['POST', `${path('logged')}?`, 202]]);
    expect(lines.map((l) => Object.keys(l).sort())).toEqual([Object.keys(lines[1] ?? {}).sort(), Object.keys(lines[1] ?? {}).sort()]);
    expect(new Set(lines.map((l) => l.reqId)).size).toBe(2);
  });
});
