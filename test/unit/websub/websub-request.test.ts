import { describe, expect, it } from 'vitest';
import { isHookhubError } from '../../../src/core/errors.js';
import { formParams, parseHubRequest, topicFilter, withHubParams } from '../../../src/websub/request.js';

const rules = { allowPrivate: true, requireHttps: false };
const parse = (form: Record<string, string> | Array<[string, string]>) => parseHubRequest(new URLSearchParams(form), rules);

describe('parseHubRequest', () => {
  it('reads a subscription, keeping the callback as given minus its fragment', () => {
    expect(parse({ 'hub.mode': 'subscribe', 'hub.callback': 'http://a.example/cb?x=1%202#frag', 'hub.topic': 'news', 'hub.lease_seconds': '90', 'hub.secret': 's' }))
      .toEqual({ mode: 'subscribe', callback: 'http://a.example/cb?x=1%202', topic: 'news', leaseSeconds: 90, secret: 's' });
  });

  it('drops the secret on unsubscribe and an empty secret on subscribe', () => {
    expect(parse({ 'hub.mode': 'unsubscribe', 'hub.callback': 'http://a.example/cb', 'hub.topic': 't', 'hub.secret': 's' })).toMatchObject({ secret: null });
    expect(parse({ 'hub.mode': 'subscribe', 'hub.callback': 'http://a.example/cb', 'hub.topic': 't', 'hub.secret': '' })).toMatchObject({ secret: null });
  });

  it('collects publish URLs from hub.url, hub.url[], hub.topic and hub.topic[], once each', () => {
    expect(parse([
      ['hub.mode', 'publish'], ['hub.url', 'http://a.example/1'], ['hub.url[]', 'http://a.example/2'],
      ['hub.topic', 'http://a.example/1'], ['hub.topic[]', 'http://a.example/3'],
    ])).toEqual({ mode: 'publish', urls: ['http://a.example/1', 'http://a.example/2', 'http://a.example/3'] });
  });

  it('refuses with a typed 400 and a reason', () => {
    try {
      parse({ 'hub.mode': 'subscribe', 'hub.topic': 't' });
      expect.unreachable();
    } catch (err) {
      expect(isHookhubError(err) && err.status).toBe(400);
      expect((err as Error).message).toBe('hub.callback is required');
    }
  });

  it('reads bodies only when they are forms', () => {
    expect(formParams(undefined, Buffer.from('hub.mode=publish')).get('hub.mode')).toBe('publish');
    expect(formParams('application/x-www-form-urlencoded; charset=utf-8', Buffer.from('a=%C3%A9')).get('a')).toBe('é');
    expect(() => formParams('text/plain', Buffer.from('x'))).toThrow(/application\/x-www-form-urlencoded, not text\/plain/);
  });
});

describe('topicFilter', () => {
  it('allows everything without patterns', () => {
    expect(topicFilter(undefined)('anything')).toBe(true);
    expect(topicFilter([])('anything')).toBe(true);
  });

  it('matches * across any characters and everything else literally', () => {
    const allowed = topicFilter(['https://example.com/*', 'news.*', 'exact']);
    expect(allowed('https://example.com/a/b?c=d')).toBe(true);
    expect(allowed('https://example.com.evil/x')).toBe(false);
    expect(allowed('news.sport')).toBe(true);
    expect(allowed('newsXsport')).toBe(false);
    expect(allowed('exact')).toBe(true);
    expect(allowed('exactly')).toBe(false);
    expect(allowed('https://other.example/')).toBe(false);
  });
});

describe('withHubParams', () => {
  const p = { 'hub.mode': 'subscribe', 'hub.topic': 'http://t.example/a b' };
  it('appends to the callback query string byte for byte', () => {
    expect(withHubParams('http://c.example/cb', p)).toBe('http://c.example/cb?hub.mode=subscribe&hub.topic=http%3A%2F%2Ft.example%2Fa+b');
    expect(withHubParams('http://c.example/cb?a=%20x&b', p)).toBe('http://c.example/cb?a=%20x&b&hub.mode=subscribe&hub.topic=http%3A%2F%2Ft.example%2Fa+b');
    expect(withHubParams('http://c.example/cb?', { x: '1' })).toBe('http://c.example/cb?x=1');
    expect(withHubParams('http://c.example/cb?a=1&', { x: '1' })).toBe('http://c.example/cb?a=1&x=1');
    expect(withHubParams('http://c.example/cb#f', { x: '1' })).toBe('http://c.example/cb?x=1');
  });
});
