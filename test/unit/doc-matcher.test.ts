// The doc test's reading of pages and its comparison of outputs (test/docs/).
import { describe, expect, test } from 'vitest';
import { matchOutput } from '../docs/matcher.js';
import { parseDoc, splitFlags } from '../docs/markdown.js';

describe('matchOutput', () => {
  test('equal lines match; trailing spaces and empty lines are ignored', () => {
    expect(matchOutput('a\nb', 'a  \nb\n\n').ok).toBe(true);
    expect(matchOutput('a\nb\n', 'a\nc').ok).toBe(false);
  });

  test('a line that differs is named in the message', () => {
    const r = matchOutput('one\ntwo', 'one\nthree');
    expect(r.ok).toBe(false);
    expect(r.message).toContain('line 2 differs');
  });

  test('... inside a line matches any text on that line only', () => {
    expect(matchOutput('{"id":"...","offset":1}', '{"id":"0196-ab","offset":1}').ok).toBe(true);
    expect(matchOutput('{"id":"...","offset":1}', '{"id":"x","offset":2}').ok).toBe(false);
    expect(matchOutput('a...z', 'a\nz').ok).toBe(false);
    expect(matchOutput('...', '').ok).toBe(true);
  });

  test('... on a line of its own matches any number of lines, none included', () => {
    expect(matchOutput('first\n...\nlast', 'first\nlast').ok).toBe(true);
    expect(matchOutput('first\n...\nlast', 'first\nx\ny\nlast').ok).toBe(true);
    expect(matchOutput('first\n...\nlast', 'first\nx\ny').ok).toBe(false);
    expect(matchOutput('...\nHTTP/1.1 202 Accepted\n...', 'HTTP/1.1 202 Accepted\ncontent-type: x').ok).toBe(true);
  });

  test('more output than shown is a mismatch', () => {
    expect(matchOutput('a', 'a\nb').ok).toBe(false);
    expect(matchOutput('', 'a').ok).toBe(false);
  });

  test('regular-expression characters are plain text', () => {
    expect(matchOutput('[true,{}] (x+y)*', '[true,{}] (x+y)*').ok).toBe(true);
    expect(matchOutput('a.c', 'abc').ok).toBe(false);
  });
});

describe('parseDoc', () => {
  const page = [
    '<!-- doc-test: --api-key=s3cret --admin-password=\'a b\' -->',
    '<!-- doc-env: API_KEY=s3cret -->',
    '# Title',
    '```sh',
    'echo hi',
    '```',
    '',
    '```text',
    'hi',
    '```',
    '',
    '*Needs a real domain:*',
    '```sh no-run',
    'curl https://example.com',
    '```',
    'Some text.',
    '```sh no-run',
    'curl x',
    '```',
    '- a list item',
    '  ```sh',
    '  echo indented',
    '  ```',
    'prose between',
    '```text',
    'not its output',
    '```',
    '```js',
    'console.log(1)',
    '```',
  ].join('\n');
  const doc = parseDoc(page);

  test('server flags and variables', () => {
    expect(doc.flags).toEqual(['--api-key=s3cret', '--admin-password=a b']);
    expect(doc.env).toEqual(['API_KEY=s3cret']);
  });

  test('sh blocks with the text block right after as expected output', () => {
    expect(doc.blocks).toEqual([
      { line: 4, code: 'echo hi', expected: 'hi' },
      { line: 21, code: 'echo indented' },
    ]);
  });

  test('no-run blocks carry the italic line before them, or no reason', () => {
    expect(doc.skipped).toEqual([{ line: 13, reason: '*Needs a real domain:*' }, { line: 17, reason: undefined }]);
  });

  test('a page without sh blocks has none to run', () => {
    expect(parseDoc('# Only prose\n\n```json\n{}\n```\n').blocks).toEqual([]);
  });

  test('splitFlags honours quotes', () => {
    expect(splitFlags(`--a=1 --b='two words' --c="x y" --d`)).toEqual(['--a=1', '--b=two words', '--c=x y', '--d']);
  });
});

describe('headingAnchors', () => {
  test("GitHub's anchors: punctuation dropped, spaces to hyphens, repeats numbered, code fences skipped", async () => {
    const { headingAnchors } = await import('../docs/links.js');
    const anchors = headingAnchors('# Browser client (`hookbox.js`) and examples\n## `/stream` — chunked NDJSON\n```sh\n# not a heading\n```\n## Options\n## Options\n');
    expect([...anchors]).toEqual(['browser-client-hookboxjs-and-examples', 'stream--chunked-ndjson', 'options', 'options-1']);
  });
});
