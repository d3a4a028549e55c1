import { existsSync } from 'node:fs';
import { compileConfig, type RuntimeConfig } from './compile.js';
import { loadConfigFile, validateConfig } from './load.js';

export const DEFAULT_CONFIG_FILE = 'sluice.yaml';
export const BUILTIN_SOURCE = '(built-in default)';

export interface ResolveOptions {
  configFile?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Finds, loads and compiles the configuration: `--config`, else SLUICE_CONFIG, else
 * ./sluice.yaml when it exists, else the built-in default. Host and port come from the
 * flags, else SLUICE_HOST / SLUICE_PORT, else the file. Throws ConfigError.
 */
export function resolveConfig(options: ResolveOptions = {}): RuntimeConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let file = options.configFile ?? (env.SLUICE_CONFIG !== undefined && env.SLUICE_CONFIG !== '' ? env.SLUICE_CONFIG : undefined);
  if (file === undefined && existsSync(`${cwd}/${DEFAULT_CONFIG_FILE}`)) file = `${cwd}/${DEFAULT_CONFIG_FILE}`;
  const config = file === undefined ? validateConfig({}, BUILTIN_SOURCE, env) : loadConfigFile(file, env);
  const envPort = env.SLUICE_PORT !== undefined && env.SLUICE_PORT !== '' ? parsePort(env.SLUICE_PORT, 'SLUICE_PORT') : undefined;
  const envHost = env.SLUICE_HOST !== undefined && env.SLUICE_HOST !== '' ? env.SLUICE_HOST : undefined;
  return compileConfig(config, file ?? BUILTIN_SOURCE, { host: options.host ?? envHost, port: options.port ?? envPort });
}

export function parsePort(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new RangeError(`${what}: invalid port ${JSON.stringify(value)} (expected 0-65535)`);
  return n;
}
