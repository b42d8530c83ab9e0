#!/usr/bin/env node
// hookhub serve [options] — command line → config → server. Bad configuration: one line, exit 2.
// hookhub hookbox [Hookbox's flags] — the same server started from Hookbox 0.3's command line, with its
// defaults (channels/hookbox-flags.ts); Hookhub's own long options may follow.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HookboxFlagError, parseHookboxArgs } from './channels/hookbox-flags.js';
import { ConfigError, OPTIONS, envName, readConfigFile, readEnv, resolveConfig, type Config, type OptionName } from './config.js';
import { startServer } from './server.js';
import { sendPath } from './core/send-batch.js';

const USAGE = 'usage: hookhub serve [options]   (hookhub serve --help lists them)\n       hookhub hookbox [Hookbox\'s flags] [Hookhub options]   (a drop-in for Hookbox 0.3\'s command line)\n       hookhub --version | --help';

/** The package's version: package.json sits one level up from both src/cli.ts and dist/cli.js. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

const HOOKBOX_HELP = `hookhub hookbox [Hookbox's flags] [Hookhub's long options]

Starts Hookhub from Hookbox 0.3's command line, with Hookbox's defaults (port 8001 on 0.0.0.0,
callbacks to http://127.0.0.1:80/hookbox/<action>, the memory store). Flags:
  -p/--port, -i/--interface, -r/--api-security-token (REST secret), -s/--webhook-secret,
  --cbhost, --cbport, --cbpath, --cbhttps, --cbtrailingslash, --cb-single-url,
  --cb-connect, --cb-disconnect, --cb-create_channel, --cb-destroy_channel, --cb-subscribe,
  --cb-unsubscribe, --cb-publish, --cb-message, -a/--admin-password, -w/--web-api-port,
  -W/--web-api-interface, -x/--ignore-publish-non-existing-channels <any non-empty value>, -L/--log-level;
  -E, -A, -c, -d, -o, --cbsendhookboxversion are accepted with a warning.
Any Hookhub long option may follow (hookhub serve --help lists them), e.g. --allow-private-targets.
docs/switching.md has the whole mapping.`;

function help(): string {
  const lines = ['hookhub serve [options]', '', 'Every option is also an environment variable (HOOKHUB_ + name) and a key of the --config file.', ''];
  lines.push(`  --config <file>  JSON or YAML file of options (flag > env > file)`);
  for (const [name, spec] of Object.entries(OPTIONS)) {
    const value = spec.kind === 'bool' ? '' : ` <${'values' in spec ? spec.values.join('|') : spec.kind}>`;
    const def = 'default' in spec ? ` (default ${spec.default})` : '';
    lines.push(`  --${name}${value}  ${spec.help}${def}  [${envName(name)}]`);
  }
  return lines.join('\n');
}

function parseFlags(argv: string[]): { config?: string; help: boolean; flags: Partial<Record<OptionName, unknown>> } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { config: { type: 'string' }, help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(OPTIONS)) options[name] = { type: spec.kind === 'bool' ? 'boolean' : 'string' };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError('arguments', (err as Error).message);
  }
  const { config, help: wantsHelp, ...flags } = values;
  return { config: config as string | undefined, help: wantsHelp === true, flags: flags as Partial<Record<OptionName, unknown>> };
}

/** Hookbox's flags mapped to Hookhub's; Hookhub's own long options given after them win. */
function hookboxConfig(argv: string[]): Config | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HOOKBOX_HELP);
    return undefined;
  }
  const kind = (name: string): 'flag' | 'value' | undefined =>
    name === 'config' ? 'value' : name in OPTIONS ? (OPTIONS[name as OptionName].kind === 'bool' ? 'flag' : 'value') : undefined;
  let parsed;
  try {
    parsed = parseHookboxArgs(argv, kind);
  } catch (err) {
    if (err instanceof HookboxFlagError) throw new ConfigError('hookbox', err.message);
    throw err;
  }
  for (const line of parsed.warnings) console.error(line);
  const own = parseFlags(parsed.passThrough);
  const file = own.config ?? process.env.HOOKHUB_CONFIG;
  // Hookbox's defaults lie below --config and HOOKHUB_* variables; the Hookbox flags given, above them.
  const defaults = parseHookboxArgs([], kind).flags;
  const given = Object.fromEntries(Object.entries(parsed.flags).filter(([name, value]) => defaults[name] !== value));
  const layer = (flags: Record<string, unknown>) => flags as Partial<Record<OptionName, unknown>>;
  return resolveConfig(layer(defaults), file ? readConfigFile(file) : {}, readEnv(process.env), layer(given), own.flags);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    console.log(packageVersion());
    return;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return;
  }
  if (command !== 'serve' && command !== 'hookbox') {
    // No command is a mistake too (a script that forgot `serve` should not look like it succeeded).
    console.error(command === undefined ? USAGE : `unknown command "${command}"; ${USAGE}`);
    process.exit(2);
  }
  let config;
  try {
    if (command === 'hookbox') {
      config = hookboxConfig(rest);
      if (!config) return;
    } else {
      const args = parseFlags(rest);
      if (args.help) {
        console.log(help());
        return;
      }
      const file = args.config ?? process.env.HOOKHUB_CONFIG;
      config = resolveConfig(file ? readConfigFile(file) : {}, readEnv(process.env), args.flags);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`hookhub: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  let hub;
  try {
    hub = await startServer(config);
  } catch (err) {
    console.error(`hookhub: cannot start: ${(err as Error).message}`);
    process.exit(2);
  }
  hub.app.log.info({ url: hub.url, store: config.store, sends: sendPath() }, 'hookhub listening');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    hub.app.log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      hub.app.log.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, 30_000);
    deadline.unref();
    hub.close().then(
      () => process.exit(0),
      (err: unknown) => {
        hub.app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main(process.argv.slice(2));
