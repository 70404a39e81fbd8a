/**
 * Configuration: parsed from the environment once at start-up, validated, frozen and passed in.
 * Nothing else in the code base reads `process.env`. The pieces: the shape of the tree
 * (config/schema.ts), typed readers of variables (config/env-reader.ts), the loader with every
 * variable's default and range (config/load.ts), and redactUrl for logging URLs (config/redact.ts).
 */
export * from './config/schema.ts';
export { ConfigError, loadConfig, loadConfigOrExit } from './config/load.ts';
export { redactUrl } from './config/redact.ts';
