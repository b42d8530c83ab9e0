// Request loggers are made on first use: what they write is what an eager child logger would write.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { lazyRequestLogger, logRequests } from '../../../src/http/request-log.js';

function appLogging(level: string): { app: FastifyInstance; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  // As the server sets it up: Fastify's own request lines off, logRequests() writes one.
  const app = Fastify({ loggerInstance: pino({ level }, sink) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), childLoggerFactory: lazyRequestLogger });
  logRequests(app);
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/warns', async (req) => {
    req.log.warn({ part: 'test' }, 'something odd');
    req.log.child({ step: 2 }).warn('and again');
    return { ok: true };
  });
  return { app, lines };
}

describe('request loggers', () => {
  it('write the request line and route lines with the request id at info', async () => {
    const { app, lines } = appLogging('info');
    const res = await app.inject({ url: '/warns?key=s3cret' });
    expect(res.statusCode).toBe(200);
    const reqId = lines.find((l) => l.msg === 'something odd')?.reqId;
    expect(reqId).toEqual(expect.any(String));
    expect(lines.filter((l) => l.reqId === reqId).map((l) => l.msg)).toEqual(['something odd', 'and again', 'request']);
    expect(lines.find((l) => l.msg === 'and again')).toMatchObject({ step: 2, level: 40 });
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({ url: '/warns?key=[redacted]', status: 200 });
  });

  it('above info write only what a route logs, with the request id, and show the level they inherit', async () => {
    const { app, lines } = appLogging('warn');
    let level: string | undefined;
    app.get('/level', async (req) => ({ level: (level = req.log.level) }));
    await app.inject({ url: '/quiet' });
    await app.inject({ url: '/level' });
    expect(level).toBe('warn');
    expect(lines).toEqual([]);
    await app.inject({ url: '/warns' });
    expect(lines.map((l) => [l.msg, typeof l.reqId])).toEqual([['something odd', 'string'], ['and again', 'string']]);
  });
});
