/**
 * The loader: builds the config from an environment, every variable with its default and range,
 * reports every bad variable at once, and freezes the result. Nothing else in the code base reads
 * `process.env`.
 */
import { EnvReader, type Env } from './env-reader.ts';
import type { Config, DatabaseBackend, QueueBackend, StoreBackend } from './schema.ts';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Builds the config from an environment, reporting every bad variable at once. */
export function loadConfig(env: Env = process.env): Config {
  const reader = new EnvReader(env);
  const { str, int, bool, oneOf, rate, origins, proxies, scheme } = reader;

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
      accountNameGraceDays: int('ACCOUNT_NAME_GRACE_DAYS', 30, 0, 3650),
      passwordHash: {
        // OWASP's floor is m = 19 MiB with t = 2; argon2 itself needs at least 8 KiB per lane.
        memoryKiB: int('PASSWORD_HASH_MEMORY_KIB', 19 * 1024, 1024, 4 * 1024 * 1024),
        timeCost: int('PASSWORD_HASH_TIME_COST', 2, 1, 100),
        parallelism: int('PASSWORD_HASH_PARALLELISM', 1, 1, 64),
        concurrency: int('PASSWORD_HASH_CONCURRENCY', 2, 1, 1024),
        queue: int('PASSWORD_HASH_QUEUE', 256, 0, 100_000),
        // libuv's own default; read here only to check that the hashes leave it room (see below).
        threadPoolSize: int('UV_THREADPOOL_SIZE', 4, 1, 1024),
      },
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
    events: {
      heartbeatSeconds: int('EVENTS_HEARTBEAT_SECONDS', 15, 1, 3600),
      maxStreamsPerUser: int('EVENTS_MAX_STREAMS_PER_USER', 5, 1, 1000),
      maxBufferBytes: int('EVENTS_MAX_BUFFER_BYTES', 1_048_576, 4096, 1_073_741_824),
      retentionHours: int('EVENTS_RETENTION_HOURS', 24, 24, 24 * 365),
      pollMs: int('EVENTS_POLL_MS', 1000, 50, 60_000),
      typingIntervalSeconds: int('TYPING_INTERVAL_SECONDS', 3, 1, 60),
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

  // Each lane of a running hash holds a libuv thread: at least one must stay free for file, DNS
  // and zlib work, or a login storm would stall them behind the hashes.
  const hashing = config.auth.passwordHash;
  if (hashing.concurrency * hashing.parallelism >= hashing.threadPoolSize) {
    reader.problems.push(
      `PASSWORD_HASH_CONCURRENCY × PASSWORD_HASH_PARALLELISM (${hashing.concurrency} × ${hashing.parallelism}) ` +
        `must be below UV_THREADPOOL_SIZE (${hashing.threadPoolSize}): raise UV_THREADPOOL_SIZE or hash fewer at once`,
    );
  }
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
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

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
