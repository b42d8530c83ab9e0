// The doc test's runner on small pages: it passes what holds and fails, naming the line, what does not.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runPage } from '../docs/runner.js';

const page = (...lines: string[]): string => lines.join('\n');

describe('runPage', () => {
  test('runs blocks in one session against the page server, with the page flags and variables', async () => {
    await runPage('ok.md', page(
      '<!-- doc-test: --history-size=7 -->',
      '<!-- doc-env: GREETING=\'hello there\' -->',
      '```sh',
      'N=3; echo "$GREETING"',
      '```',
      '```text',
      'hello ...',
      '```',
      '```sh',
      'curl -s "$HOOKHUB/api/topics/t/publish" -H "content-type: text/plain" -d x > /dev/null',
      'curl -s "$HOOKHUB/api/topics"; echo " $N"',
      '```',
      '```text',
      '{"topics":[{"topic":"t","last":1,"kept":1,"historySize":7}]} 3',
      '```',
    ));
  });

  test('an output other than the one shown fails, naming the line', async () => {
    await expect(runPage('bad.md', page('# Title', '```sh', 'echo one', '```', '```text', 'two', '```')))
      .rejects.toThrow(/bad\.md:2: the output is not the one shown/);
  });

  test('a block whose last command fails fails', async () => {
    await expect(runPage('exit.md', page('```sh', 'false', '```'))).rejects.toThrow(/exit\.md:1: the block exited with 1/);
  });

  test('what a page starts in the background is stopped at its end', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'doc-runner-')), 'pid');
    await runPage('bg.md', page(`<!-- doc-env: PID_FILE=${pidFile} -->`, '```sh', 'sleep 60 & echo $! > "$PID_FILE"', '```'));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Gone, or a zombie waiting to be reaped (state Z in /proc/<pid>/stat): either way no longer running.
    const alive = (): boolean => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  });

  test('a block that does not finish in time fails', async () => {
    await expect(runPage('slow.md', page('```sh', 'sleep 30', '```'), 500)).rejects.toThrow(/did not finish within 0\.5 s/);
  });

  test('a no-run block without a reason fails; with an italic reason it is skipped', async () => {
    await expect(runPage('noreason.md', page('Text.', '```sh no-run', 'exit 1', '```'))).rejects.toThrow(/noreason\.md:2/);
    await runPage('reason.md', page('*Needs the internet:*', '```sh no-run', 'curl https://example.com', '```'));
  });

  test('a shell block fenced as bash or console fails: it would escape the test', async () => {
    await expect(runPage('bash.md', page('# T', '```bash', 'echo hi', '```'))).rejects.toThrow(/bash\.md:2/);
  });

  test('a page without sh blocks passes', async () => {
    await runPage('prose.md', page('# Prose', '', '```json', '{}', '```'));
  });

  test('an unknown server flag is the page\'s error', async () => {
    await expect(runPage('flag.md', page('<!-- doc-test: --no-such-option -->', '```sh', 'true', '```')))
      .rejects.toThrow(/unknown server flag --no-such-option/);
  });
});
