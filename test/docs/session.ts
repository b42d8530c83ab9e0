// One bash session per doc page: blocks run in order in the same shell (variables and the working
// directory persist), each with its own output and a time limit; everything the session started is
// killed at the end (the shell leads its own process group).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BlockRun {
  /** Exit status of the block's last command; undefined when it timed out. */
  status?: number;
  output: string;
}

export class ShellSession {
  private readonly shell: ChildProcessWithoutNullStreams;
  private stdout = '';
  private count = 0;
  private waiter?: () => void;

  constructor(private readonly dir: string, env: NodeJS.ProcessEnv) {
    this.shell = spawn('bash', ['--noprofile', '--norc'], { cwd: dir, env, detached: true });
    this.shell.stdout.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      this.waiter?.();
    });
    this.shell.stderr.on('data', () => {});
    this.shell.on('exit', () => this.waiter?.());
  }

  /** Runs one block; its stdout and stderr together are the output. */
  async run(code: string, timeoutMs: number): Promise<BlockRun> {
    const n = ++this.count;
    const file = join(this.dir, `.doc-block-${n}.sh`);
    const out = join(this.dir, `.doc-block-${n}.out`);
    writeFileSync(file, `${code}\n`);
    writeFileSync(out, '');
    const done = new RegExp(`__DOC_BLOCK_DONE__ ${n} (\\d+)`);
    this.shell.stdin.write(`source ${file} </dev/null >${out} 2>&1; echo "__DOC_BLOCK_DONE__ ${n} $?"\n`);
    const status = await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const finish = (value: number | undefined): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(value);
      };
      this.waiter = () => {
        const m = done.exec(this.stdout);
        if (m) finish(Number(m[1]));
        else if (this.shell.exitCode !== null || this.shell.signalCode !== null) finish(undefined);
      };
      this.waiter();
    });
    return { status, output: readFileSync(out, 'utf8') };
  }

  /** Ends the shell and every process it started (background servers and receivers included). */
  close(): void {
    try {
      if (this.shell.pid !== undefined) process.kill(-this.shell.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
