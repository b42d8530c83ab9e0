// hookbox.logging: the named loggers Hookbox's client exposed (from js.io), which pages call, e.g.
// hookbox.logging.get('net.protocols.rtjp').setLevel(hookbox.logging.DEBUG) to see every frame.
// A logger prints to the console what is at or above its level (LOG by default).

export const DEBUG = 1;
export const LOG = 2;
export const INFO = 3;
export const WARN = 4;
export const ERROR = 5;

type Method = 'debug' | 'log' | 'info' | 'warn' | 'error';
type ConsoleLike = Partial<Record<Method, (...args: unknown[]) => void>>;

let production = false;

export class Logger {
  private level = LOG;

  constructor(readonly name: string) {}

  setLevel(level: number): void {
    this.level = level;
  }

  getLevel(): number {
    return this.level;
  }

  /** Whether a message at `level` would be printed. */
  enabled(level: number): boolean {
    return !production && level >= this.level;
  }

  debug(...args: unknown[]): unknown {
    return this.write(DEBUG, 'debug', args);
  }
  log(...args: unknown[]): unknown {
    return this.write(LOG, 'log', args);
  }
  info(...args: unknown[]): unknown {
    return this.write(INFO, 'info', args);
  }
  warn(...args: unknown[]): unknown {
    return this.write(WARN, 'warn', args);
  }
  error(...args: unknown[]): unknown {
    return this.write(ERROR, 'error', args);
  }

  /** Returns its first argument, as js.io's loggers did (`throw logger.error(err)`). */
  private write(level: number, method: Method, args: unknown[]): unknown {
    if (this.enabled(level)) {
      const out = (globalThis as { console?: ConsoleLike }).console;
      (out?.[method] ?? out?.log)?.call(out, method.toUpperCase(), this.name, ...args);
    }
    return args[0];
  }
}

const loggers = new Map<string, Logger>();

/** The logger of that name, made on first use. */
export function get(name: string): Logger {
  let logger = loggers.get(name);
  if (!logger) loggers.set(name, (logger = new Logger(name)));
  return logger;
}

export function set(name: string, logger: Logger): void {
  loggers.set(name, logger);
}

export function getAll(): Record<string, Logger> {
  const all: Record<string, Logger> = {};
  loggers.forEach((logger, name) => (all[name] = logger));
  return all;
}

/** true: nothing is printed, whatever the levels. */
export function setProduction(on: boolean): void {
  production = !!on;
}
