// The links of a doc page: relative links must name a file that exists, and a #fragment a heading of it
// (GitHub's anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2… for repeats).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Broken links of the page at `path` (relative to `root`), each as "target: why". */
export function brokenLinks(root: string, path: string): string[] {
  const text = readFileSync(join(root, path), 'utf8');
  const prose = text.replace(/^\s*(```|~~~)[\s\S]*?^\s*\1\s*$/gm, '').replace(/`[^`\n]*`/g, '');
  const broken: string[] = [];
  for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const [file = '', fragment] = target.split('#');
    const resolved = file === '' ? join(root, path) : join(root, dirname(path), file);
    if (!existsSync(resolved)) {
      broken.push(`${target}: no such file`);
      continue;
    }
    if (fragment !== undefined && resolved.endsWith('.md') && !headingAnchors(readFileSync(resolved, 'utf8')).has(fragment)) {
      broken.push(`${target}: no heading #${fragment}`);
    }
  }
  return broken;
}
