// Addresses an outgoing request must not reach (the SSRF guard's table), written from the IANA
// special-purpose address registries (iana-ipv4-special-registry, iana-ipv6-special-registry; RFC 6890)
// plus multicast and the IPv6 space outside global unicast. Entries the registries mark globally
// reachable (anycast services such as AS112, AMT, PCP) are left out: they are public destinations.
// Three IPv6 prefixes carry an IPv4 address in their last 32 bits; that address decides.
import { BlockList, isIP } from 'node:net';

export interface SpecialRange {
  net: string;
  bits: number;
  /** Registry name and the RFC that assigns it. */
  what: string;
}

export const SPECIAL_IPV4: readonly SpecialRange[] = [
  { net: '0.0.0.0', bits: 8, what: '"This network" (RFC 791 §3.2; 0.0.0.0/32 "this host", RFC 1122 §3.2.1.3)' },
  { net: '10.0.0.0', bits: 8, what: 'Private-Use (RFC 1918)' },
  { net: '100.64.0.0', bits: 10, what: 'Shared Address Space, carrier-grade NAT (RFC 6598)' },
  { net: '127.0.0.0', bits: 8, what: 'Loopback (RFC 1122 §3.2.1.3)' },
  { net: '169.254.0.0', bits: 16, what: 'Link Local, cloud metadata services (RFC 3927)' },
  { net: '172.16.0.0', bits: 12, what: 'Private-Use (RFC 1918)' },
  // Includes DS-Lite 192.0.0.0/29 (RFC 7335), 192.0.0.8/32 (RFC 7600), NAT64 discovery 192.0.0.170-171 (RFC 8880).
  { net: '192.0.0.0', bits: 24, what: 'IETF Protocol Assignments (RFC 6890 §2.1)' },
  { net: '192.0.2.0', bits: 24, what: 'Documentation, TEST-NET-1 (RFC 5737)' },
  { net: '192.88.99.0', bits: 24, what: 'Deprecated 6to4 Relay Anycast (RFC 7526)' },
  { net: '192.168.0.0', bits: 16, what: 'Private-Use (RFC 1918)' },
  { net: '198.18.0.0', bits: 15, what: 'Benchmarking (RFC 2544)' },
  { net: '198.51.100.0', bits: 24, what: 'Documentation, TEST-NET-2 (RFC 5737)' },
  { net: '203.0.113.0', bits: 24, what: 'Documentation, TEST-NET-3 (RFC 5737)' },
  { net: '224.0.0.0', bits: 4, what: 'Multicast (RFC 5771; IANA multicast registry)' },
  // Includes the Limited Broadcast address 255.255.255.255/32 (RFC 8190, RFC 919 §7).
  { net: '240.0.0.0', bits: 4, what: 'Reserved (RFC 1112 §4)' },
];

export const SPECIAL_IPV6: readonly SpecialRange[] = [
  // ::/8 is "Reserved by IETF" (RFC 4291); it holds ::/128 Unspecified and ::1/128 Loopback (RFC 4291
  // §2.5.2, §2.5.3), the deprecated IPv4-compatible ::/96 (RFC 4291 §2.5.5.1) and the IPv4-translated
  // ::ffff:0:0:0/96 (RFC 2765 §2.1). Its ::ffff:0:0/96 IPv4-mapped part is judged by the IPv4 inside.
  { net: '::', bits: 8, what: 'Reserved by IETF: unspecified, loopback, IPv4-compatible, IPv4-translated (RFC 4291)' },
  { net: '64:ff9b:1::', bits: 48, what: 'IPv4-IPv6 Translation, local use NAT64 (RFC 8215)' },
  { net: '100::', bits: 64, what: 'Discard-Only Address Block (RFC 6666)' },
  { net: '100:0:0:1::', bits: 64, what: 'Dummy IPv6 Prefix (RFC 9780)' },
  // Teredo 2001::/32 (RFC 4380), Benchmarking 2001:2::/48 (RFC 5180) and ORCHID 2001:10::/28 (RFC 4843) lie here.
  { net: '2001::', bits: 23, what: 'IETF Protocol Assignments (RFC 2928)' },
  { net: '2001:db8::', bits: 32, what: 'Documentation (RFC 3849)' },
  { net: '2002::', bits: 16, what: '6to4, embeds any IPv4 address (RFC 3056)' },
  { net: '3fff::', bits: 20, what: 'Documentation (RFC 9637)' },
  { net: '5f00::', bits: 16, what: 'Segment Routing (SRv6) SIDs (RFC 9602)' },
  { net: 'fc00::', bits: 7, what: 'Unique-Local (RFC 4193)' },
  { net: 'fe80::', bits: 10, what: 'Link-Local Unicast (RFC 4291 §2.5.6)' },
  { net: 'fec0::', bits: 10, what: 'Deprecated site-local (RFC 3879)' },
  { net: 'ff00::', bits: 8, what: 'Multicast (RFC 4291 §2.7)' },
];

/** IPv6 prefixes whose last 32 bits are an IPv4 address: the guard checks that address. */
export const IPV4_EMBEDDING: readonly SpecialRange[] = [
  { net: '::ffff:0:0', bits: 96, what: 'IPv4-mapped Address (RFC 4291 §2.5.5.2)' },
  { net: '64:ff9b::', bits: 96, what: 'IPv4-IPv6 Translation, the NAT64 well-known prefix (RFC 6052 §2.1)' },
];

/** Only 2000::/3 is allocated as global unicast (RFC 4291 §2.4, IANA IPv6 Address Space). */
const GLOBAL_UNICAST: SpecialRange = { net: '2000::', bits: 3, what: 'Global Unicast (RFC 4291 §2.4)' };

const listOf = (ranges: readonly SpecialRange[], family: 'ipv4' | 'ipv6'): BlockList => {
  const list = new BlockList();
  for (const r of ranges) list.addSubnet(r.net, r.bits, family);
  return list;
};
const v4 = listOf(SPECIAL_IPV4, 'ipv4');
const v6 = listOf(SPECIAL_IPV6, 'ipv6');
const global6 = listOf([GLOBAL_UNICAST], 'ipv6');
const embedding = IPV4_EMBEDDING.map((r) => ({ range: r, list: listOf([r], 'ipv6') }));

/** The 16 bytes of an IPv6 address (isIP(ip) === 6 is assumed), a trailing dotted quad included. */
export function ipv6Bytes(ip: string): number[] {
  let text = ip.split('%')[0] as string; // a zone index is not part of the address
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** The IPv4 address carried by an IPv4-mapped or NAT64 address, else undefined. */
export function embeddedIpv4(ip: string): string | undefined {
  if (!embedding.some((e) => e.list.check(ip, 'ipv6'))) return undefined;
  return ipv6Bytes(ip).slice(12).join('.');
}

/** True for every address that is not a public unicast destination (and for text that is no address). */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return v4.check(ip, 'ipv4');
  if (family !== 6) return true;
  const inner = embeddedIpv4(ip);
  if (inner !== undefined) return v4.check(inner, 'ipv4');
  return v6.check(ip, 'ipv6') || !global6.check(ip, 'ipv6');
}
