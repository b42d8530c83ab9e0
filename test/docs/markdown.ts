// Reads a doc page for the doc test: its ```sh blocks (with the ```text block after each, the expected
// output), the ```sh no-run blocks and their reasons, and the page's own server flags and variables
// (`<!-- doc-test: --api-key=s3cret -->`, `<!-- doc-env: API_KEY=s3cret -->`).

export interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** The ```text block right after it, if any. */
  expected?: string;
}

export interface SkippedBlock {
  line: number;
  /** The italic line before the fence; undefined when missing (a failure). */
  reason?: string;
}

export interface DocPage {
  /** Flags for the page's server, as on the command line (`--name=value` or `--name`). */
  flags: string[];
  /** Lines `NAME=value` exported to the page's shell (shell quoting kept). */
  env: string[];
  blocks: ShellBlock[];
  skipped: SkippedBlock[];
  /** Lines of shell blocks fenced under another name (bash, shell, console…), which would escape the test. */
  misnamed: number[];
}

interface Fence {
  line: number;
  info: string;
  body: string;
  /** Lines (1-based) just before the fence and just after its end. */
  before: string;
  endLine: number;
}

const FENCE = /^(\s*)(```+|~~~+)\s*(.*)$/;

function fences(lines: string[]): Fence[] {
  const out: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', marker = '```', info = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j]!);
      if (close && close[2]!.startsWith(marker) && close[3]!.trim() === '') break;
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
    }
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    out.push({ line: i + 1, info: info.trim(), body: body.join('\n'), before: k >= 0 ? lines[k]!.trim() : '', endLine: j + 1 });
    i = j;
  }
  return out;
}

/** Other names of shell blocks: write them as sh (run) or sh no-run (with a reason). */
const SHELL_NAMES = new Set(['bash', 'shell', 'console', 'zsh', 'shell-session', 'shellsession']);

const ITALIC = /^(\*[^*].*[^*]\*|_[^_].*[^_]_)[:.]?$/;

/** Splits `--a=1 --b='two words' --c` into flags, honouring single and double quotes. */
export function splitFlags(text: string): string[] {
  const out: string[] = [];
  const re = /(?:[^\s'"]+|'[^']*'|"[^"]*")+/g;
  for (const m of text.matchAll(re)) out.push(m[0].replace(/'([^']*)'|"([^"]*)"/g, (_, a?: string, b?: string) => a ?? b ?? ''));
  return out;
}

export function parseDoc(text: string): DocPage {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const page: DocPage = { flags: [], env: [], blocks: [], skipped: [], misnamed: [] };
  for (const m of text.matchAll(/<!--\s*doc-test:([\s\S]*?)-->/g)) page.flags.push(...splitFlags(m[1]!.trim()));
  for (const m of text.matchAll(/<!--\s*doc-env:([\s\S]*?)-->/g)) {
    for (const line of m[1]!.split('\n')) if (line.trim() !== '') page.env.push(line.trim());
  }
  const all = fences(lines);
  all.forEach((fence, n) => {
    const words = fence.info.split(/\s+/);
    if (SHELL_NAMES.has(words[0]!)) page.misnamed.push(fence.line);
    if (words[0] !== 'sh') return;
    if (words.includes('no-run')) {
      page.skipped.push({ line: fence.line, reason: ITALIC.test(fence.before) ? fence.before : undefined });
      return;
    }
    const block: ShellBlock = { line: fence.line, code: fence.body };
    const next = all[n + 1];
    if (next?.info === 'text' && lines.slice(fence.endLine, next.line - 1).every((l) => l.trim() === '')) {
      block.expected = next.body;
    }
    page.blocks.push(block);
  });
  return page;
}
