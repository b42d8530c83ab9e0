// A message's `time` as ISO 8601 text (what Date#toISOString gives), made per message on the way to its first
// consumer. The text up to the second is kept for the second it was made for, so a message costs a little
// arithmetic instead of a Date and its formatting (which ran on cold code after an idle spell, for every message).

const MAX_TIME = 8.64e15;

let second = Number.NaN;
/** `YYYY-MM-DDTHH:MM:SS.` of `second` (years past 9999 or before 0 included: toISOString's own form). */
let prefix = '';

/** new Date(ms).toISOString(), for any time a Date can hold. */
export function isoTime(ms: number): string {
  // A Date keeps whole milliseconds (truncated), within ±8.64e15.
  const t = Math.trunc(ms);
  if (!(Math.abs(t) <= MAX_TIME)) throw new RangeError('Invalid time value');
  const s = Math.floor(t / 1000);
  if (s !== second) {
    const whole = new Date(s * 1000).toISOString();
    // The text ends with `000Z`.
    prefix = whole.slice(0, whole.length - 4);
    second = s;
  }
  const milli = t - s * 1000;
  return `${prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
