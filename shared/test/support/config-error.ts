import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.ts';

/** The ConfigError loadConfig throws for `env`; fails the test when it accepts it. */
export function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}
