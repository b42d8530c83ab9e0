// The `datetime` of Hookbox's frames and history entries, in Hookbox's format: pages parse it
// themselves (e.g. replacing 'T' and '-' before Date.parse), so the exact shape matters.

const two = (n: number): string => String(n).padStart(2, '0');

/** Hookbox's `datetime`: the server's local time to the second, without a zone (2010-07-15T18:30:05). */
export function hookboxTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
