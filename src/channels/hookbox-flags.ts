// `hookhub hookbox <Hookbox's flags>`: Hookbox 0.3's command line (optparse: -p 8001, -p8001, --port 8001,
// --port=8001) with Hookbox's defaults, mapped to Hookhub options, so that a start script changes one word.
// Flags that mean nothing here are accepted with a warning; Hookhub's own long options pass through.

/** Hookhub options (kebab-case names, as on Hookhub's command line) → values as text or booleans. */
export type HookhubFlags = Record<string, string | boolean>;

export interface HookboxCommandLine {
  flags: HookhubFlags;
  /** One line per flag accepted without effect. */
  warnings: string[];
  /** Arguments that are not Hookbox's: Hookhub's own long options, for Hookhub's parser. */
  passThrough: string[];
}

export class HookboxFlagError extends Error {}

type Value = string | true;

interface Flag {
  short?: string;
  long: string;
  /** Also accepted (Hookhub spellings of Hookbox's underscored names). */
  alias?: string;
  takesValue: boolean;
  /** Hookbox's default, or undefined (no default). */
  default?: string;
}

/** Hookbox 0.3.4's options (hookbox/config.py), with its defaults. */
const FLAGS: Record<string, Flag> = {
  log_file_err: { short: 'E', long: 'log-file-errors', takesValue: true },
  log_file_access: { short: 'A', long: 'log-file-access', takesValue: true },
  log_level: { short: 'L', long: 'log-level', takesValue: true, default: 'INFO' },
  interface: { short: 'i', long: 'interface', takesValue: true, default: '0.0.0.0' },
  port: { short: 'p', long: 'port', takesValue: true, default: '8001' },
  web_api_port: { short: 'w', long: 'web-api-port', takesValue: true },
  web_api_interface: { short: 'W', long: 'web-api-interface', takesValue: true },
  // optparse's default action stores a value: Hookbox's -x takes one, and any non-empty one turns it on.
  ignore_publish: { short: 'x', long: 'ignore-publish-non-existing-channels', takesValue: true },
  cbport: { long: 'cbport', takesValue: true, default: '80' },
  cbhost: { long: 'cbhost', takesValue: true, default: '127.0.0.1' },
  cbpath: { long: 'cbpath', takesValue: true, default: '/hookbox' },
  cookie_identifier: { short: 'c', long: 'cookie-identifier', takesValue: true },
  webhook_secret: { short: 's', long: 'webhook-secret', takesValue: true },
  cbhttps: { long: 'cbhttps', takesValue: false },
  cbtrailingslash: { long: 'cbtrailingslash', takesValue: false },
  cbsendhookboxversion: { long: 'cbsendhookboxversion', takesValue: false },
  cb_connect: { long: 'cb-connect', takesValue: true, default: 'connect' },
  cb_disconnect: { long: 'cb-disconnect', takesValue: true, default: 'disconnect' },
  cb_create_channel: { long: 'cb-create_channel', alias: 'cb-create-channel', takesValue: true, default: 'create_channel' },
  cb_destroy_channel: { long: 'cb-destroy_channel', alias: 'cb-destroy-channel', takesValue: true, default: 'destroy_channel' },
  cb_subscribe: { long: 'cb-subscribe', takesValue: true, default: 'subscribe' },
  cb_unsubscribe: { long: 'cb-unsubscribe', takesValue: true, default: 'unsubscribe' },
  cb_publish: { long: 'cb-publish', takesValue: true, default: 'publish' },
  cb_message: { long: 'cb-message', takesValue: true, default: 'message' },
  cb_single_url: { long: 'cb-single-url', takesValue: true },
  api_security_token: { short: 'r', long: 'api-security-token', takesValue: true },
  admin_password: { short: 'a', long: 'admin-password', takesValue: true },
  debug: { short: 'd', long: 'debug', takesValue: false },
  objgraph: { short: 'o', long: 'objgraph', takesValue: true },
};

const byShort = new Map(Object.entries(FLAGS).flatMap(([key, f]) => (f.short ? [[f.short, key] as const] : [])));
const byLong = new Map(Object.entries(FLAGS).flatMap(([key, f]) => [[f.long, key] as const, ...(f.alias ? [[f.alias, key] as const] : [])]));

/** Python logging level names → Hookhub's. */
const LOG_LEVELS: Record<string, string> = {
  NOTSET: 'trace', DEBUG: 'debug', INFO: 'info', WARNING: 'warn', WARN: 'warn', ERROR: 'error', CRITICAL: 'fatal', FATAL: 'fatal',
};

const CALLBACK_PATHS = [
  ['cb_connect', 'cb-connect'], ['cb_disconnect', 'cb-disconnect'], ['cb_create_channel', 'cb-create-channel'],
  ['cb_destroy_channel', 'cb-destroy-channel'], ['cb_subscribe', 'cb-subscribe'], ['cb_unsubscribe', 'cb-unsubscribe'],
  ['cb_publish', 'cb-publish'], ['cb_message', 'cb-message'],
] as const;

/** Reads Hookbox's flags; what is not Hookbox's (a Hookhub long option) is handed back in passThrough. */
export function parseHookboxArgs(argv: string[], hookhubOption: (name: string) => 'flag' | 'value' | undefined): HookboxCommandLine {
  const given = new Map<string, Value>();
  const passThrough: string[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const takeValue = (key: string, attached: string | undefined, shown: string): Value => {
      if (!FLAGS[key]!.takesValue) {
        if (attached !== undefined) throw new HookboxFlagError(`${shown} takes no value`);
        return true;
      }
      if (attached !== undefined) return attached;
      if (i + 1 >= argv.length) throw new HookboxFlagError(`${shown} needs a value`);
      return argv[++i]!;
    };
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const attached = eq < 0 ? undefined : arg.slice(eq + 1);
      const key = byLong.get(name);
      if (key) {
        given.set(key, takeValue(key, attached, `--${name}`));
        continue;
      }
      const kind = hookhubOption(name);
      if (!kind) throw new HookboxFlagError(`unknown option --${name} (neither Hookbox's nor Hookhub's)`);
      passThrough.push(arg);
      // A Hookhub option's value given apart goes along with it.
      if (kind === 'value' && eq < 0 && i + 1 < argv.length) passThrough.push(argv[++i]!);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // Short flags may be grouped (-dx1) and may carry their value attached (-p8001), as with optparse.
      for (let j = 1; j < arg.length; j++) {
        const key = byShort.get(arg[j]!);
        if (!key) throw new HookboxFlagError(`unknown option -${arg[j]}`);
        const rest = arg.slice(j + 1);
        if (FLAGS[key]!.takesValue) {
          given.set(key, takeValue(key, rest === '' ? undefined : rest, `-${arg[j]}`));
          break;
        }
        given.set(key, true);
      }
      continue;
    }
    warnings.push(`hookbox: argument "${arg}" ignored (Hookbox ignored positional arguments too)`);
  }
  return { ...mapFlags(given, warnings), passThrough };
}

function mapFlags(given: Map<string, Value>, warnings: string[]): { flags: HookhubFlags; warnings: string[] } {
  const value = (key: string): string | undefined => {
    const v = given.get(key);
    return typeof v === 'string' ? v : v === true ? 'true' : FLAGS[key]!.default;
  };
  const on = (key: string): boolean => given.get(key) === true;
  const flags: HookhubFlags = {};
  // Hookbox kept nothing on disk: channels, users and queues live in memory unless --store says otherwise.
  flags.store = 'memory';
  flags.host = value('interface')!;
  flags.port = integer('-p/--port', value('port')!);
  const level = value('log_level')!.toUpperCase();
  const mapped = LOG_LEVELS[level];
  if (!mapped) throw new HookboxFlagError(`-L/--log-level: unknown level ${value('log_level')} (DEBUG, INFO, WARNING, ERROR, CRITICAL)`);
  flags['log-level'] = mapped;

  const slash = on('cbtrailingslash');
  const withSlash = (path: string): string => (slash && !path.endsWith('/') ? `${path}/` : path);
  const scheme = on('cbhttps') ? 'https' : 'http';
  const cbPort = integer('--cbport', value('cbport')!);
  // Hookbox left the port out of the URL when it was 80 (so --cbhttps alone called port 443).
  flags['cb-url'] = `${scheme}://${hostForUrl(value('cbhost')!)}${cbPort === '80' ? '' : `:${cbPort}`}${value('cbpath')}`;
  for (const [key, option] of CALLBACK_PATHS) {
    const path = value(key)!;
    if (given.has(key) || slash) flags[option] = withSlash(path);
  }
  const single = given.get('cb_single_url');
  if (typeof single === 'string' && single !== '') flags['cb-single-url'] = slash ? slashedUrl(single) : single;

  const secret = given.get('webhook_secret');
  if (typeof secret === 'string') flags['cb-secret'] = secret;
  const token = given.get('api_security_token');
  if (typeof token === 'string') flags['api-key'] = token;
  const admin = given.get('admin_password');
  if (typeof admin === 'string') flags['admin-password'] = admin;

  const x = given.get('ignore_publish');
  if (typeof x === 'string' && x !== '') {
    flags['ignore-publish-non-existing-channels'] = true;
    if (/^(0|false|no|off|none)$/i.test(x)) warnings.push(`hookbox: -x ${x} turns the option ON, as in Hookbox (any non-empty value does); leave -x out to keep it off`);
  }
  const apiPort = given.get('web_api_port');
  const apiHost = given.get('web_api_interface');
  if (typeof apiPort === 'string') flags['web-api-port'] = integer('-w/--web-api-port', apiPort);
  if (typeof apiHost === 'string') {
    flags['web-api-host'] = apiHost;
    // Hookbox: an interface without a port puts the web API on that interface at the main port.
    if (typeof apiPort !== 'string') flags['web-api-port'] = flags.port;
  }

  const ignored: Array<[string, string]> = [
    ['log_file_err', '-E/--log-file-errors: logs are JSON lines on standard output'],
    ['log_file_access', '-A/--log-file-access: logs are JSON lines on standard output'],
    ['cookie_identifier', '-c/--cookie-identifier: Hookbox read it and used it nowhere; the whole cookie goes to the application'],
    ['cbsendhookboxversion', '--cbsendhookboxversion: no X-Hookbox-Version header is sent'],
    ['debug', '-d/--debug: nothing to recompile (the client is built ahead)'],
    ['objgraph', '-o/--objgraph: no object graph dump'],
  ];
  for (const [key, why] of ignored) if (given.has(key)) warnings.push(`hookbox: ${why} (accepted, ignored)`);
  return { flags, warnings };
}

function integer(flag: string, text: string): string {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new HookboxFlagError(`${flag}: expected a port number, got "${text}"`);
  return String(Number(text));
}

const hostForUrl = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/** --cbtrailingslash on --cb-single-url: the slash goes at the end of the path, before any query. */
function slashedUrl(url: string): string {
  const u = new URL(url);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.toString();
}
