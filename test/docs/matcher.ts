// Compares a command's output with the expected output a doc shows (a ```text block after a ```sh block).
// `...` on a line of its own matches any number of lines (none included); `...` inside a line matches any
// text on that line. Trailing spaces and trailing empty lines are ignored on both sides.

export interface MatchResult {
  ok: boolean;
  /** Why not, with both sides, when ok is false. */
  message?: string;
}

const ELLIPSIS = '...';

function lines(text: string): string[] {
  const out = text.replace(/\r\n?/g, '\n').split('\n').map((l) => l.replace(/\s+$/, ''));
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One expected line as a test on one actual line. */
function linePattern(expected: string): (actual: string) => boolean {
  if (!expected.includes(ELLIPSIS)) return (actual) => actual === expected;
  const re = new RegExp(`^${expected.split(ELLIPSIS).map(escapeRegExp).join('.*')}$`, 's');
  return (actual) => re.test(actual);
}

export function matchOutput(expected: string, actual: string): MatchResult {
  const want = lines(expected);
  const got = lines(actual);
  const tests = want.map((w) => (w.trim() === ELLIPSIS ? undefined : linePattern(w)));
  // matches[i][j]: want[i..] matches got[j..]. Filled from the end; size is small (doc outputs).
  const matches: boolean[][] = Array.from({ length: want.length + 1 }, () => new Array<boolean>(got.length + 1).fill(false));
  matches[want.length]![got.length] = true;
  for (let i = want.length - 1; i >= 0; i--) {
    const test = tests[i];
    for (let j = got.length; j >= 0; j--) {
      matches[i]![j] = test === undefined
        ? matches[i + 1]![j]! || (j < got.length && matches[i]![j + 1]!)
        : j < got.length && test(got[j]!) && matches[i + 1]![j + 1]!;
    }
  }
  if (matches[0]![0]) return { ok: true };
  return { ok: false, message: `expected:\n${want.join('\n')}\n--- got:\n${got.join('\n')}\n---\n${firstDifference(want, got)}` };
}

/** The first line where a line-by-line reading goes wrong (a hint; `...` lines make it approximate). */
function firstDifference(want: string[], got: string[]): string {
  let j = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w.trim() === ELLIPSIS) return 'the output differs after a "..." line';
    if (j >= got.length) return `missing line ${i + 1}: ${w}`;
    if (!linePattern(w)(got[j]!)) return `line ${j + 1} differs:\n  expected: ${w}\n  got:      ${got[j]}`;
    j++;
  }
  return `extra output from line ${j + 1}: ${got[j] ?? ''}`;
}
