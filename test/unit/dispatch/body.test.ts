import { describe, expect, it } from 'vitest';
import { mediaType, parseDispatchBody, type DispatchBody } from '../../../src/dispatch/body.js';

const FORM = 'application/x-www-form-urlencoded';

/** What a form body means, spelled out: the first value of each `_` field, and the other pairs joined by '&'. */
function expected(text: string): { control: Record<string, string>; payload: string; empty: boolean } {
  const control: Record<string, string> = {};
  const kept: string[] = [];
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = new URLSearchParams(`${eq === -1 ? pair : pair.slice(0, eq)}=`).keys().next().value as string;
    if (key.startsWith('_')) {
      if (!(key in control)) control[key] = new URLSearchParams(pair).get(key) ?? '';
    } else kept.push(pair);
  }
  return { control, payload: kept.join('&'), empty: kept.length === 0 };
}

const parseForm = (text: string): DispatchBody => parseDispatchBody(FORM, Buffer.from(text, 'latin1')) as DispatchBody;

describe('form bodies of /dispatch', () => {
  const bodies = [
    '_url=http%3A%2F%2Fx%2Fhook&n=1&event=order.created&amount=42',
    'n=1&event=a&_url=http%3A%2F%2Fx',
    'b=2&_url=http%3A%2F%2Fx&a=%C3%A9t%C3%A9+x&a=second&empty=',
    '_url=u&&a=1',
    'a=1&&b=2&_url=u',
    'a=1&b=2&',
    '&a=1',
    '&&',
    'a',
    '_url=u',
    '_url=u&_url=v&x=1',
    '_url=u&a=1&_secret=s&b=2',
    '%5Furl=http%3A%2F%2Fx&a=1',
    '_url=a+b%20c&a=x+y',
    '_url=%E9&a=%',
    'a=1&_method=GET&_ordered=1',
    'x=\xe9\xff&_url=u',
  ];
  for (const text of bodies) {
    it(`${JSON.stringify(text)}: control fields decoded, the payload the other pairs as they came`, () => {
      const body = parseForm(text);
      const want = expected(text);
      expect(Object.fromEntries(body.control)).toEqual(want.control);
      expect(body.payload.body.toString('latin1')).toBe(want.payload);
      expect(body.payload.empty).toBe(want.empty);
      expect(body.payload.contentType).toBe(FORM);
    });
  }
});

describe('mediaType', () => {
  it('is the lower-case type without parameters', () => {
    expect(mediaType(undefined)).toBe('');
    expect(mediaType(FORM)).toBe(FORM);
    expect(mediaType('application/json')).toBe('application/json');
    expect(mediaType(' Application/JSON ; charset=utf-8')).toBe('application/json');
    expect(mediaType('multipart/form-data; boundary=x')).toBe('multipart/form-data');
  });
});
