#!/usr/bin/env node
// hookhub serve [options] — command line → config → server. Bad configuration: one line, exit 2.
import { parseArgs } from 'node:util';
import { ConfigError, OPTIONS, envName, readConfigFile, readEnv, resolveConfig, type OptionName } from './config.js';
import { startServer } from './server.js';

const USAGE = 'usage: hookhub serve [options]   (hookhub serve --help lists them)';

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

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'serve') {
    console.error(command === undefined || command === '--help' || command === '-h' ? USAGE : `unknown command "${command}"; ${USAGE}`);
    process.exit(command === undefined || command === '--help' || command === '-h' ? 0 : 2);
  }
  let config;
  try {
    const args = parseFlags(rest);
    if (args.help) {
      console.log(help());
      return;
    }
    const file = args.config ?? process.env.HOOKHUB_CONFIG;
    config = resolveConfig(file ? readConfigFile(file) : {}, readEnv(process.env), args.flags);
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
  hub.app.log.info({ url: hub.url, store: config.store }, 'hookhub listening');

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
