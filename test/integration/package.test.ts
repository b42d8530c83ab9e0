// The package as a user gets it: `npm pack`, `npm install -g` of the tarball into a temporary prefix, then the
// installed `hookhub` command (--version, --help, no arguments, serve) and `import … from 'hookhub/client'`.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendPath } from '../../src/core/send-batch.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const run = promisify(execFile);

let work: string;
let prefix: string;
let bin: string;

interface Exit { code: number; stdout: string; stderr: string }

async function hookhub(args: string[]): Promise<Exit> {
  try {
    const { stdout, stderr } = await run(bin, args, { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'hookhub-package-'));
  prefix = join(work, 'prefix');
  // `npm pack` runs prepack (the client bundle and dist/); --json names the tarball it wrote.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, timeout: 120_000 });
  const filename = (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]?.filename;
  if (!filename) throw new Error(`npm pack wrote no tarball: ${packed.stdout}`);
  // --ignore-scripts: on Node 20 better-sqlite3 has no prebuilt binary and compiles from source (a minute on
  // this machine); the addon compiled for the checkout is copied in below instead. bufferutil ships prebuilds.
  await run('npm', ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', join(work, filename)], {
    cwd: work,
    timeout: 120_000,
  });
  const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  const installed = join(prefix, 'lib/node_modules/hookhub', addon);
  mkdirSync(join(installed, '..'), { recursive: true });
  copyFileSync(join(root, addon), installed);
  // Hookhub's own install script (the io_uring sender), run as npm would, from the installed package alone.
  await run(process.execPath, ['scripts/build-native.mjs'], { cwd: join(prefix, 'lib/node_modules/hookhub'), timeout: 120_000 });
  bin = join(prefix, 'bin/hookhub');
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball installed with npm install -g', () => {
  it('puts hookhub on the PATH: --version prints the package version, --help the usage', async () => {
    expect(existsSync(bin)).toBe(true);
    const version = await hookhub(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
    const help = await hookhub(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: hookhub serve [options]');
    const serveHelp = await hookhub(['serve', '--help']);
    expect(serveHelp.code).toBe(0);
    expect(serveHelp.stdout).toContain('--store <memory|sqlite|redis>');
  });

  it('exits non-zero with the usage when given no command, or an unknown one', async () => {
    const none = await hookhub([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage: hookhub serve');
    const unknown = await hookhub(['serv']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "serv"');
  });

  it.each(['memory', 'sqlite'])('serves with --store %s: /healthz and /readyz answer, SIGTERM stops it cleanly', async (store) => {
    const child = spawn(bin, ['serve', '--port', '0', '--store', store, '--data-dir', join(work, `data-${store}`)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let out = '';
      const listening = await new Promise<{ url: string; sends: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "hookhub listening" line: ${out}`)), 20_000);
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          out += chunk;
          const line = out.split('\n').find((l) => l.includes('hookhub listening'));
          if (!line) return;
          clearTimeout(timer);
          resolve(JSON.parse(line) as { url: string; sends: string });
        });
        void exited.then((code) => reject(new Error(`hookhub exited ${code}: ${out}`)));
      });
      // The sender built from the package's own sources is in use, as the checkout's is here.
      expect(listening.sends).toBe(sendPath());
      const url = listening.url;
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${url}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ready', store });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      if (store === 'sqlite') {
        // The backup script of docs/operations.md, from the installed package (its better-sqlite3).
        const script = join(prefix, 'lib/node_modules/hookhub/examples/deploy/backup.mjs');
        const { stdout } = await run(process.execPath, [script, join(work, 'data-sqlite/hookhub.db'), join(work, 'backup.db')], { timeout: 20_000 });
        expect(stdout).toMatch(/: integrity ok, 0 topics, 0 messages, 0 deliveries\n$/);
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it("resolves import { connect } from 'hookhub/client' for a script next to the installed package", async () => {
    // A global install puts the package in <prefix>/lib/node_modules; a module in <prefix>/lib resolves it.
    const script = join(prefix, 'lib/check-client.mjs');
    writeFileSync(script, "import { connect, version } from 'hookhub/client';\nconsole.log(typeof connect, version);\n");
    const { stdout } = await run(process.execPath, [script], { timeout: 20_000 });
    expect(stdout).toBe(`function ${manifest.version}\n`);
    const types = join(prefix, 'lib/node_modules/hookhub/client/dist/hookbox.d.ts');
    expect(readFileSync(types, 'utf8')).toContain('export declare function connect');
  });
});
