// The SSRF guard's table: every special-purpose range refused at its first and last address,
// its neighbours outside accepted; the IPv4 carried by mapped and NAT64 addresses decides.
import { describe, expect, it } from 'vitest';
import { embeddedIpv4, ipv6Bytes, isPrivateAddress, SPECIAL_IPV4, SPECIAL_IPV6 } from '../../../src/core/special-addresses.js';

const v4ToInt = (ip: string): number => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
const intToV4 = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** First and last address of an IPv4 range, and the addresses just outside it. */
function v4Edges(net: string, bits: number) {
  const first = v4ToInt(net);
  const last = first + 2 ** (32 - bits) - 1;
  return { first: intToV4(first), last: intToV4(last), before: first > 0 ? intToV4(first - 1) : undefined, after: last < 2 ** 32 - 1 ? intToV4(last + 1) : undefined };
}

const v6ToBig = (ip: string): bigint => ipv6Bytes(ip).reduce((n, b) => (n << 8n) | BigInt(b), 0n);
const bigToV6 = (n: bigint): string =>
  Array.from({ length: 8 }, (_, i) => ((n >> BigInt((7 - i) * 16)) & 0xffffn).toString(16)).join(':');

function v6Edges(net: string, bits: number) {
  const first = v6ToBig(net);
  const last = first + (1n << BigInt(128 - bits)) - 1n;
  return { first: bigToV6(first), last: bigToV6(last), before: bigToV6(first - 1n), after: bigToV6(last + 1n) };
}

/** Outside one range may still be inside a neighbouring one: only assert "allowed" for public space. */
const publicV4 = (ip: string | undefined): ip is string => ip !== undefined && !SPECIAL_IPV4.some((r) => {
  const e = v4Edges(r.net, r.bits);
  return v4ToInt(ip) >= v4ToInt(e.first) && v4ToInt(ip) <= v4ToInt(e.last);
});

describe('IPv4 special-purpose ranges', () => {
  for (const r of SPECIAL_IPV4) {
    it(`${r.net}/${r.bits} — ${r.what}`, () => {
      const e = v4Edges(r.net, r.bits);
      expect(isPrivateAddress(e.first), e.first).toBe(true);
      expect(isPrivateAddress(e.last), e.last).toBe(true);
      // The same address in its IPv4-mapped and NAT64 forms (RFC 4291, RFC 6052).
      expect(isPrivateAddress(`::ffff:${e.last}`)).toBe(true);
      expect(isPrivateAddress(`64:ff9b::${e.first}`)).toBe(true);
      for (const outside of [e.before, e.after].filter(publicV4)) expect(isPrivateAddress(outside), outside).toBe(false);
    });
  }
});

describe('IPv6 special-purpose ranges', () => {
  for (const r of SPECIAL_IPV6) {
    it(`${r.net}/${r.bits} — ${r.what}`, () => {
      const e = v6Edges(r.net, r.bits);
      expect(isPrivateAddress(e.first), e.first).toBe(true);
      expect(isPrivateAddress(e.last), e.last).toBe(true);
    });
  }

  it('::ffff:0:0/96 IPv4-mapped — judged by the IPv4 inside, whatever the notation', () => {
    for (const ip of ['::ffff:127.0.0.1', '::ffff:7f00:1', '::FFFF:7F00:0001', '0:0:0:0:0:ffff:a9fe:a9fe', '::ffff:10.0.0.1', '::ffff:0.0.0.0']) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    expect(embeddedIpv4('::ffff:7f00:1')).toBe('127.0.0.1');
    for (const ip of ['::ffff:8.8.8.8', '::ffff:808:808']) expect(isPrivateAddress(ip), ip).toBe(false);
  });

  it('::ffff:0:0:0/96 IPv4-translated (RFC 2765) — refused, whatever it carries', () => {
    for (const ip of ['::ffff:0:7f00:1', '::ffff:0:808:808', '0:0:0:0:ffff:0:a00:1']) expect(isPrivateAddress(ip), ip).toBe(true);
  });

  it('64:ff9b::/96 NAT64 well-known prefix — judged by the IPv4 inside', () => {
    for (const ip of ['64:ff9b::7f00:1', '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b::c0a8:101', '64:ff9b::a00:1']) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    expect(embeddedIpv4('64:ff9b::a9fe:a9fe')).toBe('169.254.169.254');
    expect(isPrivateAddress('64:ff9b::808:808')).toBe(false);
  });

  it('64:ff9b:1::/48 local-use NAT64 — refused even when it would carry a public IPv4', () => {
    for (const ip of ['64:ff9b:1::808:808', '64:ff9b:1::7f00:1', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff']) expect(isPrivateAddress(ip), ip).toBe(true);
  });

  it('outside 2000::/3 (not global unicast) is refused; public addresses pass', () => {
    for (const ip of ['1::1', '4000::1', 'e000::1', '::2']) expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['2606:4700:4700::1111', '2a00:1450:4001::1', '2001:4860:4860::8888', '3ffe::1']) expect(isPrivateAddress(ip), ip).toBe(false);
    expect(isPrivateAddress('not-an-ip')).toBe(true);
  });
});
