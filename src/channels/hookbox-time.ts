// The `datetime` of Hookbox's frames and history entries, in Hookbox's format: pages parse it
// themselves (e.g. replacing 'T' and '-' before Date.parse), so the exact shape matters.

const two = (n: number): string => String(n).padStart(2, '0');

/** The second last asked for and its text: a message's frame and its history entry, and the messages of
 *  the same second, share it (the local-time getters are the costly part, on every publish's way out). */
let second = Number.NaN;
let text = '';

/** Hookbox's `datetime`: the server's local time to the second, without a zone (2010-07-15T18:30:05). */
export function hookboxTime(ms: number): string {
  // Zone offsets change on whole seconds: one second is one text.
  const s = Math.floor(Math.trunc(ms) / 1000);
  if (s === second) return text;
  const d = new Date(ms);
  text = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  second = s;
  return text;
}
