// Config for tests and benchmarks: the defaults, the memory store, port 0, no logs, plus the given overrides.
import { resolveConfig, type Config } from '../../src/config.js';

export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...resolveConfig({ store: 'memory', port: 0, 'log-level': 'silent' }), ...overrides };
}
