// `hookhub hookbox <Hookbox's flags>`: the real CLI in a child process, started as a Hookbox start script
// would start Hookbox, checked end to end (callback URLs and paths, secrets, the REST port, -x, warnings).
import { describe, expect, it } from 'vitest';
import { ChannelsApp, nameFromPayload } from '../helpers/channels-app.js';
import { runCli, type CliRun } from '../helpers/process.js';
import { until } from '../helpers/wait.js';
import { HookboxClient } from '../helpers/ws-client.js';
import { freePort } from '../helpers/free-port.js';

/** Waits for the "listening" log line (the CLI logs at info unless -L says otherwise). */
async function listening(run: CliRun): Promise<void> {
  await until(() => {
    if (run.proc.exitCode !== null) throw new Error(`hookhub exited: ${run.stderr.join('\n')}`);
    return run.stdout.some((line) => line.includes('hookhub listening'));
  }, 'hookhub listening', 20_000);
}

const post = async (url: string, fields: Record<string, string>): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('[') ? JSON.parse(text) : text };
};

describe('hookhub hookbox <Hookbox flags>', () => {
  it('maps -p -i --cbhost --cbport --cbpath --cb-<action> -s -r -w -W -x and warns about flags without meaning', async () => {
    const app = await ChannelsApp.start((call) => (call.action === 'connect' ? [true, { name: nameFromPayload(call) }] : [true, {}]));
    const appPort = new URL(app.url).port;
    const [port, restPort] = [await freePort(), await freePort()];
    const run = runCli([
      'hookbox', '-p', String(port), '-i', '127.0.0.1', '--cbhost', '127.0.0.1', `--cbport=${appPort}`, '--cbpath', '/hb',
      '--cb-connect=connect.php', '--cb-create_channel=create_channel.php', '--cb-publish', 'publish.php',
      '-s', 'cb-secret', '-r', 'rest-secret', '-w', String(restPort), '-W', '127.0.0.1', '-x', '1', '-c', 'PHPSESSID', '-E', '/tmp/errors.log',
    ]);
    await listening(run);
    const base = `http://127.0.0.1:${port}`;
    const restBase = `http://127.0.0.1:${restPort}`;

    // Flags Hookhub has no meaning for: one warning line each.
    expect(run.stderr.filter((l) => l.startsWith('hookbox: '))).toEqual([
      expect.stringMatching(/^hookbox: -E\/--log-file-errors: .*\(accepted, ignored\)$/),
      expect.stringMatching(/^hookbox: -c\/--cookie-identifier: .*\(accepted, ignored\)$/),
    ]);

    // Callbacks: http://cbhost:cbport + cbpath + / + the action's path, with -s as `secret`.
    const c = await HookboxClient.connect(base, { payload: { name: 'ann' } });
    c.send('SUBSCRIBE', { channel_name: 'room' });
    await c.frame('SUBSCRIBE');
    c.send('PUBLISH', { channel_name: 'room', payload: 'hi' });
    await c.frame('PUBLISH');
    expect(app.calls.map((call) => [call.path, call.fields.action, call.fields.secret])).toEqual([
      ['/hb/connect.php', 'connect', 'cb-secret'],
      ['/hb/create_channel.php', 'create_channel', 'cb-secret'],
      ['/hb/subscribe', 'subscribe', 'cb-secret'],
      ['/hb/publish.php', 'publish', 'cb-secret'],
    ]);

    // -w/-W: the web API on its own port (at /web/<method> and /<method>), with -r as the REST secret; not on -p.
    expect((await post(`${base}/web/get_server_info`, { security_token: 'rest-secret' })).status).toBe(404);
    expect((await post(`${restBase}/web/get_server_info`, { security_token: 'wrong' })).body).toEqual([false, { msg: 'invalid security token' }]);
    expect((await post(`${restBase}/publish`, { security_token: 'rest-secret', channel_name: 'room', payload: '"from the app"', originator: 'app' })).body).toEqual([true, {}]);
    expect((await c.frame('PUBLISH', (f) => f.user === 'app'))[2]).toMatchObject({ channel_name: 'room', payload: 'from the app' });
    // -x: publishing to a channel that does not exist is ignored.
    expect((await post(`${restBase}/rest/publish`, { security_token: 'rest-secret', channel_name: 'nowhere', payload: '1' })).body).toEqual([true, {}]);
    const [, info] = (await post(`${restBase}/web/get_server_info`, { security_token: 'rest-secret' })).body as [boolean, { channels: string[] }];
    expect(info.channels).toEqual(['room']);
    c.close();
    run.proc.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });

  it("Hookbox's defaults: callbacks to http://127.0.0.1/hookbox/<action>; REST on the main port; no -x", async () => {
    const port = await freePort();
    // Hookhub's long options pass through (here: a key-less /ws is not wanted, so -r is given; the app is absent).
    const run = runCli(['hookbox', '-p', String(port), '-i', '127.0.0.1', '-r', 'k', '--cb-timeout', '1s']);
    await listening(run);
    const base = `http://127.0.0.1:${port}`;
    const c = await HookboxClient.open(base);
    c.send('CONNECT', { payload: null });
    // Nothing listens on 127.0.0.1:80 here (or something else does): the connect callback fails either way.
    const error = await c.frame('ERROR');
    expect(error[2].msg).toMatch(/application callback connect/);
    expect((await post(`${base}/web/publish`, { security_token: 'k', channel_name: 'nowhere', payload: '1' })).body).toEqual([false, { msg: "Channel nowhere doesn't exist" }]);
    const line = run.stdout.find((l) => l.includes('hookhub listening'))!;
    expect(JSON.parse(line)).toMatchObject({ store: 'memory' });
    c.close();
    run.proc.kill('SIGTERM');
    await run.exited;
  });

  it('a bad flag is one line and exit 2', async () => {
    const run = runCli(['hookbox', '--frobnicate']);
    expect((await run.exited).code).toBe(2);
    expect(run.stderr.join('\n')).toMatch(/unknown option --frobnicate/);
    const level = runCli(['hookbox', '-L', 'LOUD']);
    expect((await level.exited).code).toBe(2);
    expect(level.stderr.join('\n')).toMatch(/log-level: unknown level LOUD/);
  });
});
