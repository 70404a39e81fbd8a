/**
 * Configuration: parsed from the environment once at start-up, validated, frozen and passed in.
 * Nothing else in the code base reads `process.env`.
 */
import proxyaddr from 'proxy-addr';

export type DatabaseBackend = 'postgres' | 'pglite';
export type StoreBackend = 'redis' | 'memory';
export type QueueBackend = 'amqp' | 'memory';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  /** HTTP port of the API (PORT, default 8080; 0 picks a free one). */
  readonly port: number;
  /** Interface the API listens on (HOST, default 0.0.0.0). */
  readonly host: string;
  readonly logLevel: LogLevel;
  /** DATABASE_URL: postgres://… or pglite://<dir> / pglite://memory. Default pglite://./.data/db. */
  readonly database: {
    readonly backend: DatabaseBackend;
    readonly url: string;
    /** DATABASE_POOL_SIZE: connections per process (default 10). */
    readonly poolSize: number;
    /** DATABASE_CONNECT_TIMEOUT_MS: the longest wait for a connection, pooled or new (default 2000). */
    readonly connectTimeoutMs: number;
    /** DATABASE_STATEMENT_TIMEOUT_MS: PostgreSQL cancels a statement running longer (default 1500; 0 = none). */
    readonly statementTimeoutMs: number;
    /** DATABASE_QUERY_TIMEOUT_MS: a query the server does not answer fails after this long, client side (default 2000; 0 = none). */
    readonly queryTimeoutMs: number;
    /** DATABASE_BREAKER_MS: after a connect failure or query timeout, new queries fail at once for this long (default 500; 0 = off). */
    readonly breakerMs: number;
  };
  /** REDIS_URL: redis://… or memory://. Default memory://. REDIS_KEY_PREFIX namespaces every key. */
  readonly store: {
    readonly backend: StoreBackend;
    readonly url: string;
    readonly keyPrefix: string;
    /**
     * REDIS_CONNECT_TIMEOUT_MS: the longest a (re)connect may take (default 3000). Requests never wait
     * for it: while disconnected, commands fail at once.
     */
    readonly connectTimeoutMs: number;
    /** REDIS_COMMAND_TIMEOUT_MS: a command without an answer fails after this long (default 1000). */
    readonly commandTimeoutMs: number;
    /** REDIS_BREAKER_MS: after a command timeout, commands fail at once for this long (default 1000; 0 = off). */
    readonly breakerMs: number;
  };
  /**
   * AMQP_URL: amqp://… or memory:// (default; the API then runs the search worker itself).
   * The topology names are configurable so that several deployments (or test runs) share a broker.
   */
  readonly queue: {
    readonly backend: QueueBackend;
    readonly url: string;
    /** SEARCH_EXCHANGE (default search_tasks_exchange) */
    readonly exchange: string;
    /** SEARCH_ROUTING_KEY (default search_tasks) */
    readonly routingKey: string;
    /** SEARCH_QUEUE (default search_tasks_queue) */
    readonly queueName: string;
    /** SEARCH_DEAD_LETTER_EXCHANGE (default search_tasks_dlx) */
    readonly deadLetterExchange: string;
    /** SEARCH_DEAD_LETTER_QUEUE (default search_tasks_dead) */
    readonly deadLetterQueue: string;
    /** SEARCH_PREFETCH: jobs one worker runs at once (default 10). */
    readonly prefetch: number;
    /** SEARCH_MAX_ATTEMPTS: a job that throws is tried this many times, then dead-lettered (default 3). */
    readonly maxAttempts: number;
    /** AMQP_CONNECT_TIMEOUT_MS: the longest a connect to RabbitMQ (TCP and handshake) may take (default 2000). */
    readonly connectTimeoutMs: number;
    /** AMQP_PUBLISH_TIMEOUT_MS: a job the broker has not confirmed after this long is a 503 (default 2000). */
    readonly publishTimeoutMs: number;
  };
  readonly search: {
    /** SEARCH_MAX_PHRASE_LENGTH: the longest phrase accepted (default 256). */
    readonly maxPhraseLength: number;
    /** SEARCH_MAX_RESULTS: results kept per task, newest first (default 100). */
    readonly maxResults: number;
    /** SEARCH_TIMEOUT_MS: how long a task may run; then it finishes with what it found (default 5000). */
    readonly timeoutMs: number;
    /** SEARCH_RESULT_TTL_SECONDS: a finished task and its results expire this long after finishing (default 300). */
    readonly resultTtlSeconds: number;
    /** SEARCH_PENDING_TTL_SECONDS: a task that never runs expires after this long (default 3600). */
    readonly pendingTtlSeconds: number;
  };
  readonly auth: {
    /** AUTH_DISABLED=true: the original trust-the-client mode, the caller is `?user_id=`. */
    readonly disabled: boolean;
    /** SESSION_TTL_SECONDS: a session ends after this long without use. */
    readonly sessionTtlSeconds: number;
    /** SESSION_TOUCH_SECONDS: how stale `last_seen_at` in the database may get before it is written again. */
    readonly sessionTouchSeconds: number;
  };
  readonly http: {
    /**
     * CORS_ORIGINS: comma-separated origins (`https://app.example.com`) whose browser apps may call
     * the API, or `*` for any. Default: none (same-origin only).
     */
    readonly corsOrigins: readonly string[];
    /** BODY_LIMIT_BYTES: the largest JSON body accepted. */
    readonly bodyLimitBytes: number;
    /**
     * JSON_MAX_DEPTH: the deepest nesting of arrays and objects a JSON body may have (default 32; the
     * contract's deepest body, a batch of messages with attachments, needs 5). Checked as soon as the
     * body is parsed, before anything walks it recursively.
     */
    readonly jsonMaxDepth: number;
    /** SHUTDOWN_TIMEOUT_MS: how long in-flight requests get on SIGTERM before connections are cut. */
    readonly shutdownTimeoutMs: number;
  };
  readonly throttling: {
    /** THROTTLING=off turns the in-app limiter off (for deployments that throttle at nginx). */
    readonly enabled: boolean;
    /** RATE_LIMIT_API: requests per window per user (or per IP without a session), e.g. 100/1s. */
    readonly api: RateLimit;
    /** RATE_LIMIT_AUTH_IP: login and register attempts per client IP, e.g. 30/60s. */
    readonly authPerIp: RateLimit;
    /** RATE_LIMIT_AUTH_NAME: login and register attempts per user_name, e.g. 10/60s (a password-guessing brake). */
    readonly authPerName: RateLimit;
    /**
     * TRUSTED_PROXIES: comma-separated proxies whose X-Forwarded-For is believed: addresses, CIDR
     * ranges (10.0.0.0/8) and the names loopback, linklocal, uniquelocal.
     */
    readonly trustedProxies: readonly string[];
  };
  readonly cache: {
    /** HISTORY_CACHE_TTL_SECONDS: how long a history page stays cached (it is dropped at once when the chat changes). 0 disables. */
    readonly historyTtlSeconds: number;
    /** MEMBERSHIP_CACHE_TTL_SECONDS: how long a membership check stays cached (dropped when membership changes). 0 disables. */
    readonly membershipTtlSeconds: number;
  };
  /** The inbox, `GET /v1/messages/recent`. */
  readonly inbox: {
    /** INBOX_MAX_RESULTS: the most messages it answers (default 100). */
    readonly maxResults: number;
    /** INBOX_MAX_AGE_DAYS: it shows messages of the last this many days only (default 30). */
    readonly maxAgeDays: number;
  };
  /** `Idempotency-Key` on message-creating requests. */
  readonly idempotency: {
    /** IDEMPOTENCY_TTL_SECONDS: how long a key is remembered and its reply replayed (default 86400, 24 h). */
    readonly ttlSeconds: number;
    /** IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS: how often each API instance deletes expired keys from PostgreSQL (default 600). */
    readonly cleanupIntervalSeconds: number;
  };
  /** MIGRATE_ON_START=false skips applying pending migrations at start-up. */
  readonly migrateOnStart: boolean;
}

/** `max` requests per `windowMs`, written `100/1s`, `30/60s`, `5/1m`. */
export interface RateLimit {
  readonly max: number;
  readonly windowMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Builds the config from an environment, reporting every bad variable at once. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];

  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${raw}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name}=${raw}: expected true or false`);
    return fallback;
  };
  const oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const raw = str(name, fallback);
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name}=${raw}: expected one of ${allowed.join(', ')}`);
      return fallback;
    }
    return raw as T;
  };
  const rate = (name: string, fallback: string): RateLimit => {
    const raw = str(name, fallback);
    const match = /^(\d+)\s*\/\s*(\d+)?\s*(ms|s|m|h)$/.exec(raw.trim());
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    if (!match || Number(match[1]) < 1) {
      problems.push(`${name}=${raw}: expected requests per window such as 100/1s or 30/60s`);
      return { max: 1, windowMs: 1000 };
    }
    return {
      max: Number(match[1]),
      windowMs: Number(match[2] ?? 1) * unit[match[3] as keyof typeof unit],
    };
  };
  /** `*`, or origins exactly as a browser sends them: scheme, host and port if not the default. */
  const origins = (name: string): string[] => {
    const list = str(name, '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    for (const entry of list) {
      let origin: string | undefined;
      try {
        origin = new URL(entry).origin;
      } catch {
        origin = undefined;
      }
      if (entry !== '*' && origin !== entry) {
        problems.push(
          `${name}: "${entry}" is not an origin such as https://app.example.com (no path, no trailing slash)`,
        );
      }
    }
    return list;
  };
  /** Addresses, CIDR ranges and proxy-addr's names (`loopback`, `linklocal`, `uniquelocal`). */
  const proxies = (name: string): string[] => {
    const list = str(name, '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    for (const entry of list) {
      try {
        proxyaddr.compile(entry);
      } catch {
        problems.push(
          `${name}: "${entry}" is not an address, a CIDR range, or loopback/linklocal/uniquelocal`,
        );
      }
    }
    return list;
  };
  const scheme = <T extends string>(
    name: string,
    fallback: string,
    schemes: Record<string, T>,
  ): { backend: T; url: string } => {
    const url = str(name, fallback);
    const prefix = Object.keys(schemes).find((s) => url.startsWith(s));
    if (!prefix) {
      problems.push(
        `${name}=${redactUrl(url)}: expected a URL starting with ${Object.keys(schemes).join(' or ')}`,
      );
      return { backend: Object.values(schemes)[0] as T, url: fallback };
    }
    return { backend: schemes[prefix] as T, url };
  };

  const sessionTtlSeconds = int('SESSION_TTL_SECONDS', 3600, 1, 365 * 24 * 3600);
  const nodeEnv = oneOf('NODE_ENV', 'development', ['development', 'production', 'test'] as const);
  const config: Config = {
    env: nodeEnv,
    port: int('PORT', 8080, 0, 65535),
    host: str('HOST', '0.0.0.0'),
    logLevel: oneOf('LOG_LEVEL', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ] as const),
    database: {
      ...scheme<DatabaseBackend>('DATABASE_URL', legacyPostgresUrl(env) ?? 'pglite://./.data/db', {
        'postgres://': 'postgres',
        'postgresql://': 'postgres',
        'pglite://': 'pglite',
      }),
      poolSize: int('DATABASE_POOL_SIZE', 10, 1, 1000),
      connectTimeoutMs: int('DATABASE_CONNECT_TIMEOUT_MS', 2_000, 100, 600_000),
      statementTimeoutMs: int('DATABASE_STATEMENT_TIMEOUT_MS', 1_500, 0, 3_600_000),
      queryTimeoutMs: int('DATABASE_QUERY_TIMEOUT_MS', 2_000, 0, 3_600_000),
      breakerMs: int('DATABASE_BREAKER_MS', 500, 0, 60_000),
    },
    store: {
      ...scheme<StoreBackend>('REDIS_URL', 'memory://', {
        'redis://': 'redis',
        'rediss://': 'redis',
        'memory://': 'memory',
      }),
      keyPrefix: str('REDIS_KEY_PREFIX', 'messenger:'),
      connectTimeoutMs: int('REDIS_CONNECT_TIMEOUT_MS', 3_000, 100, 600_000),
      commandTimeoutMs: int('REDIS_COMMAND_TIMEOUT_MS', 1_000, 50, 600_000),
      breakerMs: int('REDIS_BREAKER_MS', 1_000, 0, 60_000),
    },
    queue: {
      ...scheme<QueueBackend>('AMQP_URL', 'memory://', {
        'amqp://': 'amqp',
        'amqps://': 'amqp',
        'memory://': 'memory',
      }),
      exchange: str('SEARCH_EXCHANGE', 'search_tasks_exchange'),
      routingKey: str('SEARCH_ROUTING_KEY', 'search_tasks'),
      queueName: str('SEARCH_QUEUE', 'search_tasks_queue'),
      deadLetterExchange: str('SEARCH_DEAD_LETTER_EXCHANGE', 'search_tasks_dlx'),
      deadLetterQueue: str('SEARCH_DEAD_LETTER_QUEUE', 'search_tasks_dead'),
      prefetch: int('SEARCH_PREFETCH', 10, 1, 1000),
      maxAttempts: int('SEARCH_MAX_ATTEMPTS', 3, 1, 100),
      connectTimeoutMs: int('AMQP_CONNECT_TIMEOUT_MS', 2_000, 100, 600_000),
      publishTimeoutMs: int('AMQP_PUBLISH_TIMEOUT_MS', 2_000, 100, 600_000),
    },
    search: {
      maxPhraseLength: int('SEARCH_MAX_PHRASE_LENGTH', 256, 4, 10_000),
      maxResults: int('SEARCH_MAX_RESULTS', 100, 1, 10_000),
      timeoutMs: int('SEARCH_TIMEOUT_MS', 5_000, 100, 600_000),
      resultTtlSeconds: int('SEARCH_RESULT_TTL_SECONDS', 300, 1, 7 * 24 * 3600),
      pendingTtlSeconds: int('SEARCH_PENDING_TTL_SECONDS', 3600, 1, 7 * 24 * 3600),
    },
    auth: {
      disabled: bool('AUTH_DISABLED', false),
      sessionTtlSeconds,
      // Never more than half the TTL: a session in use must not look expired to the database.
      sessionTouchSeconds: Math.min(
        int('SESSION_TOUCH_SECONDS', 60, 0, 24 * 3600),
        Math.floor(sessionTtlSeconds / 2),
      ),
    },
    http: {
      corsOrigins: origins('CORS_ORIGINS'),
      bodyLimitBytes: int('BODY_LIMIT_BYTES', 64 * 1024, 1024, 64 * 1024 * 1024),
      jsonMaxDepth: int('JSON_MAX_DEPTH', 32, 8, 1000),
      shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    },
    throttling: {
      enabled: bool('THROTTLING', true),
      api: rate('RATE_LIMIT_API', '100/1s'),
      authPerIp: rate('RATE_LIMIT_AUTH_IP', '30/60s'),
      authPerName: rate('RATE_LIMIT_AUTH_NAME', '10/60s'),
      trustedProxies: proxies('TRUSTED_PROXIES'),
    },
    cache: {
      historyTtlSeconds: int('HISTORY_CACHE_TTL_SECONDS', 60, 0, 24 * 3600),
      membershipTtlSeconds: int('MEMBERSHIP_CACHE_TTL_SECONDS', 60, 0, 24 * 3600),
    },
    inbox: {
      // The contract's `limit` goes up to 1000; the window bounds what the query has to scan.
      maxResults: int('INBOX_MAX_RESULTS', 100, 1, 1000),
      maxAgeDays: int('INBOX_MAX_AGE_DAYS', 30, 1, 3650),
    },
    idempotency: {
      // At least a minute: a key must outlive the retries of the request it guards.
      ttlSeconds: int('IDEMPOTENCY_TTL_SECONDS', 24 * 3600, 60, 30 * 24 * 3600),
      cleanupIntervalSeconds: int('IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS', 600, 1, 24 * 3600),
    },
    migrateOnStart: bool('MIGRATE_ON_START', true),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/**
 * The original API's harness names its database with POSTGRES_HOSTS (`host[:port]`), POSTGRES_DB,
 * POSTGRES_USER and POSTGRES_PWD instead of a URL: `postgresql://USER:PWD@HOSTS/DB`. Used only
 * where DATABASE_URL is unset. Of several comma-separated hosts, the first is used (pg connects to
 * one host).
 */
function legacyPostgresUrl(env: Env): string | undefined {
  const hosts = env.POSTGRES_HOSTS?.split(',')[0]?.trim();
  if (!hosts) return undefined;
  const user = env.POSTGRES_USER ? encodeURIComponent(env.POSTGRES_USER) : '';
  const password = env.POSTGRES_PWD ? `:${encodeURIComponent(env.POSTGRES_PWD)}` : '';
  const credentials = user || password ? `${user}${password}@` : '';
  const database = encodeURIComponent(env.POSTGRES_DB || 'postgres');
  return `postgresql://${credentials}${hosts}/${database}`;
}

/** For process entry points: the config, or every problem on stderr and exit code 2. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** Hides the password of a URL for logs and error messages. */
export function redactUrl(url: string): string {
  // The user info ends at the LAST @ before the path (as pg, ioredis and WHATWG URL read it).
  return url.replace(/(\/\/[^:/@]*:)[^/?#]*@/, '$1***@');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
