// The doc test: every ```sh block of README.md and docs/*.md runs, in order, against a Hookhub started for
// its page, and must print what the ```text block after it shows; every relative link must hold.
// How: docs/development.md ("The doc test").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { brokenLinks } from './links.js';
import { parseDoc } from './markdown.js';
import { BLOCK_TIMEOUT_MS, docPages, ROOT, runPage } from './runner.js';

describe('docs: every relative link names a file and a heading that exist', () => {
  for (const path of [...docPages(), 'examples/README.md']) {
    test(`links of ${path}`, () => expect(brokenLinks(ROOT, path)).toEqual([]));
  }
});

describe('docs: every ```sh block runs and prints what the page shows', () => {
  for (const path of docPages()) {
    const text = readFileSync(join(ROOT, path), 'utf8');
    const blocks = parseDoc(text).blocks.length;
    test(path, { timeout: 30_000 + blocks * BLOCK_TIMEOUT_MS }, () => runPage(path, text));
  }
});
