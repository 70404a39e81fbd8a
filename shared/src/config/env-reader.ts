/**
 * Typed readers of environment variables. Each answers its fallback for an unset or empty
 * variable, and for a bad one too, after noting the problem: the loader then reports every bad
 * variable at once instead of stopping at the first.
 */
import proxyaddr from 'proxy-addr';
import type { RateLimit } from './schema.ts';
import { redactUrl } from './redact.ts';

export type Env = Record<string, string | undefined>;

const RATE_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The readers are arrow functions so that the loader can take them out of the object by name. */
export class EnvReader {
  /** One line per bad variable, naming it. */
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  str = (name: string, fallback: string): string => {
    const v = this.env[name];
    return v === undefined || v === '' ? fallback : v;
  };

  int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name}=${raw}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };

  bool = (name: string, fallback: boolean): boolean => {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    this.problems.push(`${name}=${raw}: expected true or false`);
    return fallback;
  };

  oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const raw = this.str(name, fallback);
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name}=${raw}: expected one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  };

  rate = (name: string, fallback: string): RateLimit => {
    const raw = this.str(name, fallback);
    const match = /^(\d+)\s*\/\s*(\d+)?\s*(ms|s|m|h)$/.exec(raw.trim());
    if (!match || Number(match[1]) < 1) {
      this.problems.push(`${name}=${raw}: expected requests per window such as 100/1s or 30/60s`);
      return { max: 1, windowMs: 1000 };
    }
    return {
      max: Number(match[1]),
      windowMs: Number(match[2] ?? 1) * RATE_UNITS[match[3] as keyof typeof RATE_UNITS],
    };
  };

  /** `*`, or origins exactly as a browser sends them: scheme, host and port if not the default. */
  origins = (name: string): string[] => {
    const list = this.list(name);
    for (const entry of list) {
      let origin: string | undefined;
      try {
        origin = new URL(entry).origin;
      } catch {
        origin = undefined;
      }
      if (entry !== '*' && origin !== entry) {
        this.problems.push(
          `${name}: "${entry}" is not an origin such as https://app.example.com (no path, no trailing slash)`,
        );
      }
    }
    return list;
  };

  /** Addresses, CIDR ranges and proxy-addr's names (`loopback`, `linklocal`, `uniquelocal`). */
  proxies = (name: string): string[] => {
    const list = this.list(name);
    for (const entry of list) {
      try {
        proxyaddr.compile(entry);
      } catch {
        this.problems.push(
          `${name}: "${entry}" is not an address, a CIDR range, or loopback/linklocal/uniquelocal`,
        );
      }
    }
    return list;
  };

  /** A URL and the backend its scheme names; a problem (its password hidden) for another scheme. */
  scheme = <T extends string>(
    name: string,
    fallback: string,
    schemes: Record<string, T>,
  ): { backend: T; url: string } => {
    const url = this.str(name, fallback);
    const prefix = Object.keys(schemes).find((s) => url.startsWith(s));
    if (!prefix) {
      this.problems.push(
        `${name}=${redactUrl(url)}: expected a URL starting with ${Object.keys(schemes).join(' or ')}`,
      );
      return { backend: Object.values(schemes)[0] as T, url: fallback };
    }
    return { backend: schemes[prefix] as T, url };
  };

  /** A comma-separated list, its entries trimmed, empty ones dropped. */
  private list(name: string): string[] {
    return this.str(name, '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
  }
}
