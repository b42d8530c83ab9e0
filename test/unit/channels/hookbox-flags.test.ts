// Hookbox 0.3.4's command line (hookbox/config.py) → Hookhub options, flag by flag, with Hookbox's defaults.
import { describe, expect, it } from 'vitest';
import { HookboxFlagError, parseHookboxArgs } from '../../../src/channels/hookbox-flags.js';

const hookhub = (name: string): 'flag' | 'value' | undefined => (name === 'allow-private-targets' ? 'flag' : name === 'cb-timeout' ? 'value' : undefined);
const parse = (...argv: string[]) => parseHookboxArgs(argv, hookhub);

describe('Hookbox flags', () => {
  it("no flags: Hookbox's defaults (port 8001 on 0.0.0.0, callbacks to http://127.0.0.1/hookbox/<action>, INFO, memory)", () => {
    expect(parse()).toEqual({
      flags: { store: 'memory', host: '0.0.0.0', port: '8001', 'log-level': 'info', 'cb-url': 'http://127.0.0.1/hookbox' },
      warnings: [],
      passThrough: [],
    });
  });

  it('each flag, short and long, value attached or apart', () => {
    const table: Array<[string[], Record<string, unknown>]> = [
      [['-p', '9000'], { port: '9000' }],
      [['-p9000'], { port: '9000' }],
      [['--port=9000'], { port: '9000' }],
      [['-i', '127.0.0.1'], { host: '127.0.0.1' }],
      [['--interface', '::1'], { host: '::1' }],
      [['-r', 'rs'], { 'api-key': 'rs' }],
      [['--api-security-token=rs'], { 'api-key': 'rs' }],
      [['-s', 'ws'], { 'cb-secret': 'ws' }],
      [['--webhook-secret', 'ws'], { 'cb-secret': 'ws' }],
      [['-a', 'pw'], { 'admin-password': 'pw' }],
      [['--admin-password=hookboxdemo'], { 'admin-password': 'hookboxdemo' }],
      [['--cbhost', 'app.local', '--cbport', '8080', '--cbpath', '/cb'], { 'cb-url': 'http://app.local:8080/cb' }],
      [['--cbhttps'], { 'cb-url': 'https://127.0.0.1/hookbox' }],
      [['--cbhttps', '--cbport=8443'], { 'cb-url': 'https://127.0.0.1:8443/hookbox' }],
      [['--cbhost', '::1', '--cbport', '81'], { 'cb-url': 'http://[::1]:81/hookbox' }],
      [['--cb-connect=connect.php', '--cb-create_channel=create_channel.php', '--cb-destroy_channel', 'd.php'],
        { 'cb-connect': 'connect.php', 'cb-create-channel': 'create_channel.php', 'cb-destroy-channel': 'd.php' }],
      [['--cb-subscribe=s', '--cb-unsubscribe=u', '--cb-publish=p', '--cb-message=m', '--cb-disconnect=x'],
        { 'cb-subscribe': 's', 'cb-unsubscribe': 'u', 'cb-publish': 'p', 'cb-message': 'm', 'cb-disconnect': 'x' }],
      [['--cb-single-url=http://localhost/chat.php'], { 'cb-single-url': 'http://localhost/chat.php' }],
      [['-x', 'yes'], { 'ignore-publish-non-existing-channels': true }],
      [['-w', '8002'], { 'web-api-port': '8002' }],
      [['-W', '127.0.0.1'], { 'web-api-host': '127.0.0.1', 'web-api-port': '8001' }],
      [['-w8002', '-W127.0.0.1'], { 'web-api-port': '8002', 'web-api-host': '127.0.0.1' }],
      [['-L', 'DEBUG'], { 'log-level': 'debug' }],
      [['--log-level=warning'], { 'log-level': 'warn' }],
      [['-L', 'CRITICAL'], { 'log-level': 'fatal' }],
    ];
    for (const [argv, expected] of table) expect(parse(...argv).flags, argv.join(' ')).toMatchObject(expected);
  });

  it('--cbtrailingslash ends every callback path (and the single URL\'s path) with a slash', () => {
    const { flags } = parse('--cbtrailingslash', '--cb-connect=c.php');
    expect(flags).toMatchObject({ 'cb-connect': 'c.php/', 'cb-disconnect': 'disconnect/', 'cb-create-channel': 'create_channel/', 'cb-message': 'message/' });
    expect(parse('--cbtrailingslash', '--cb-single-url', 'http://a/hook?x=1').flags['cb-single-url']).toBe('http://a/hook/?x=1');
  });

  it('flags without meaning here are accepted with one warning each; -x with a false-looking value warns that it is on', () => {
    const { flags, warnings } = parse('-E', 'e.log', '-A', 'a.log', '-c', 'sid', '--cbsendhookboxversion', '-d', '-o', '5', '-x', 'False');
    expect(flags['ignore-publish-non-existing-channels']).toBe(true);
    expect(warnings).toHaveLength(7);
    expect(warnings[0]).toMatch(/-x False turns the option ON/);
    for (const line of warnings.slice(1)) expect(line).toMatch(/^hookbox: .*\(accepted, ignored\)$/);
  });

  it("Hookhub's long options pass through with their values; anything else is an error", () => {
    expect(parse('-p', '1', '--allow-private-targets', '--cb-timeout', '2s').passThrough).toEqual(['--allow-private-targets', '--cb-timeout', '2s']);
    expect(() => parse('--nope')).toThrow(HookboxFlagError);
    expect(() => parse('-q')).toThrow(/unknown option -q/);
    expect(() => parse('-p')).toThrow(/-p needs a value/);
    expect(() => parse('-p', 'eighty')).toThrow(/expected a port number/);
    expect(() => parse('--cbhttps=1')).toThrow(/takes no value/);
  });
});
