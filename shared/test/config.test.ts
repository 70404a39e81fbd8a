/**
 * loadConfig as a whole: the defaults, every documented variable read, the legacy POSTGRES_*
 * variables, every problem reported at once, and a frozen tree per call. How single values are read
 * and refused is in config.variables.test.ts.
 */
import { expect } from 'chai';
import { loadConfig, type Config } from '../src/config.ts';
import { configErrorOf } from './support/config-error.ts';

/** Every object reachable from `value`, with its path. */
function objectsIn(value: object, path = 'config'): Array<[string, object]> {
  const found: Array<[string, object]> = [[path, value]];
  for (const [key, child] of Object.entries(value)) {
    if (child && typeof child === 'object') found.push(...objectsIn(child as object, `${path}.${key}`));
  }
  return found;
}

describe('config', () => {
  describe('loadConfig', () => {
    it('gives the documented defaults for an empty environment', () => {
      const expected: Config = {
        env: 'development',
        port: 8080,
        host: '0.0.0.0',
        logLevel: 'info',
        database: {
          backend: 'pglite',
          url: 'pglite://./.data/db',
          poolSize: 10,
          connectTimeoutMs: 2_000,
          statementTimeoutMs: 1_500,
          queryTimeoutMs: 2_000,
          breakerMs: 500,
        },
        store: {
          backend: 'memory',
          url: 'memory://',
          keyPrefix: 'messenger:',
          connectTimeoutMs: 3_000,
          commandTimeoutMs: 1_000,
          breakerMs: 1_000,
        },
        queue: {
          backend: 'memory',
          url: 'memory://',
          exchange: 'search_tasks_exchange',
          routingKey: 'search_tasks',
          queueName: 'search_tasks_queue',
          deadLetterExchange: 'search_tasks_dlx',
          deadLetterQueue: 'search_tasks_dead',
          prefetch: 10,
          maxAttempts: 3,
          connectTimeoutMs: 2_000,
          publishTimeoutMs: 2_000,
        },
        search: {
          maxPhraseLength: 256,
          maxResults: 100,
          timeoutMs: 5000,
          resultTtlSeconds: 300,
          pendingTtlSeconds: 3600,
        },
        auth: {
          disabled: false,
          sessionTtlSeconds: 3600,
          accountNameGraceDays: 30,
          sessionTouchSeconds: 60,
          passwordHash: {
            memoryKiB: 19_456,
            timeCost: 2,
            parallelism: 1,
            concurrency: 2,
            queue: 256,
            threadPoolSize: 4,
          },
        },
        http: { corsOrigins: [], bodyLimitBytes: 65536, jsonMaxDepth: 32, shutdownTimeoutMs: 10_000 },
        throttling: {
          enabled: true,
          api: { max: 100, windowMs: 1000 },
          authPerIp: { max: 30, windowMs: 60_000 },
          authPerName: { max: 10, windowMs: 60_000 },
          trustedProxies: [],
        },
        cache: { historyTtlSeconds: 60, membershipTtlSeconds: 60 },
        events: {
          heartbeatSeconds: 15,
          maxStreamsPerUser: 5,
          maxBufferBytes: 1_048_576,
          retentionHours: 24,
          pollMs: 1000,
          typingIntervalSeconds: 3,
        },
        inbox: { maxResults: 100, maxAgeDays: 30 },
        idempotency: { ttlSeconds: 86_400, cleanupIntervalSeconds: 600 },
        migrateOnStart: true,
      };
      expect(loadConfig({})).to.deep.equal(expected);
    });

    it('builds the database URL from POSTGRES_HOSTS, _DB, _USER and _PWD when DATABASE_URL is unset', () => {
      const config = loadConfig({
        POSTGRES_HOSTS: 'db.internal:5433',
        POSTGRES_DB: 'messenger',
        POSTGRES_USER: 'app',
        POSTGRES_PWD: 'p@ss:word/1',
      });
      expect(config.database.backend).to.equal('postgres');
      expect(config.database.url).to.equal('postgresql://app:p%40ss%3Aword%2F1@db.internal:5433/messenger');
      expect(new URL(config.database.url).password).to.equal('p%40ss%3Aword%2F1');
      expect(loadConfig({ POSTGRES_HOSTS: 'a:5432,b:5432' }).database.url).to.equal(
        'postgresql://a:5432/postgres',
      );
    });

    it('lets DATABASE_URL win over the POSTGRES_* variables', () => {
      const config = loadConfig({
        DATABASE_URL: 'pglite://memory',
        POSTGRES_HOSTS: 'db:5432',
        POSTGRES_DB: 'x',
      });
      expect(config.database.url).to.equal('pglite://memory');
    });

    it('reads every variable it documents', () => {
      const config = loadConfig({
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'debug',
        DATABASE_URL: 'postgres://app:pw@db:5432/messenger',
        DATABASE_POOL_SIZE: '25',
        DATABASE_CONNECT_TIMEOUT_MS: '3000',
        DATABASE_STATEMENT_TIMEOUT_MS: '0',
        DATABASE_QUERY_TIMEOUT_MS: '4000',
        DATABASE_BREAKER_MS: '0',
        REDIS_URL: 'redis://cache:6379/2',
        REDIS_KEY_PREFIX: 'm1:',
        REDIS_CONNECT_TIMEOUT_MS: '500',
        REDIS_COMMAND_TIMEOUT_MS: '250',
        REDIS_BREAKER_MS: '100',
        AMQP_URL: 'amqp://mq',
        SEARCH_EXCHANGE: 'ex',
        SEARCH_ROUTING_KEY: 'rk',
        SEARCH_QUEUE: 'q',
        SEARCH_DEAD_LETTER_EXCHANGE: 'dlx',
        SEARCH_DEAD_LETTER_QUEUE: 'dlq',
        SEARCH_PREFETCH: '4',
        SEARCH_MAX_ATTEMPTS: '5',
        AMQP_CONNECT_TIMEOUT_MS: '1500',
        AMQP_PUBLISH_TIMEOUT_MS: '700',
        SEARCH_MAX_PHRASE_LENGTH: '64',
        SEARCH_MAX_RESULTS: '50',
        SEARCH_TIMEOUT_MS: '2000',
        SEARCH_RESULT_TTL_SECONDS: '60',
        SEARCH_PENDING_TTL_SECONDS: '120',
        AUTH_DISABLED: 'true',
        SESSION_TTL_SECONDS: '7200',
        SESSION_TOUCH_SECONDS: '0',
        PASSWORD_HASH_MEMORY_KIB: '8192',
        PASSWORD_HASH_TIME_COST: '3',
        PASSWORD_HASH_PARALLELISM: '2',
        PASSWORD_HASH_CONCURRENCY: '4',
        PASSWORD_HASH_QUEUE: '10',
        UV_THREADPOOL_SIZE: '16',
        CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
        BODY_LIMIT_BYTES: '2048',
        JSON_MAX_DEPTH: '16',
        SHUTDOWN_TIMEOUT_MS: '500',
        MIGRATE_ON_START: 'false',
        THROTTLING: 'off',
        RATE_LIMIT_API: '50/2s',
        RATE_LIMIT_AUTH_IP: '9/1m',
        RATE_LIMIT_AUTH_NAME: '3/1h',
        TRUSTED_PROXIES: '10.0.0.1',
        HISTORY_CACHE_TTL_SECONDS: '30',
        MEMBERSHIP_CACHE_TTL_SECONDS: '0',
        INBOX_MAX_RESULTS: '20',
        EVENTS_HEARTBEAT_SECONDS: '5',
        EVENTS_MAX_STREAMS_PER_USER: '2',
        EVENTS_MAX_BUFFER_BYTES: '65536',
        EVENTS_RETENTION_HOURS: '48',
        EVENTS_POLL_MS: '250',
        TYPING_INTERVAL_SECONDS: '5',
        INBOX_MAX_AGE_DAYS: '7',
        IDEMPOTENCY_TTL_SECONDS: '3600',
        IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS: '30',
      });
      expect(config).to.deep.equal({
        env: 'production',
        port: 0,
        host: '127.0.0.1',
        logLevel: 'debug',
        database: {
          backend: 'postgres',
          url: 'postgres://app:pw@db:5432/messenger',
          poolSize: 25,
          connectTimeoutMs: 3000,
          statementTimeoutMs: 0,
          queryTimeoutMs: 4000,
          breakerMs: 0,
        },
        store: {
          backend: 'redis',
          url: 'redis://cache:6379/2',
          keyPrefix: 'm1:',
          connectTimeoutMs: 500,
          commandTimeoutMs: 250,
          breakerMs: 100,
        },
        queue: {
          backend: 'amqp',
          url: 'amqp://mq',
          exchange: 'ex',
          routingKey: 'rk',
          queueName: 'q',
          deadLetterExchange: 'dlx',
          deadLetterQueue: 'dlq',
          prefetch: 4,
          maxAttempts: 5,
          connectTimeoutMs: 1_500,
          publishTimeoutMs: 700,
        },
        search: {
          maxPhraseLength: 64,
          maxResults: 50,
          timeoutMs: 2000,
          resultTtlSeconds: 60,
          pendingTtlSeconds: 120,
        },
        auth: {
          disabled: true,
          sessionTtlSeconds: 7200,
          accountNameGraceDays: 30,
          sessionTouchSeconds: 0,
          passwordHash: {
            memoryKiB: 8192,
            timeCost: 3,
            parallelism: 2,
            concurrency: 4,
            queue: 10,
            threadPoolSize: 16,
          },
        },
        http: {
          corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
          bodyLimitBytes: 2048,
          jsonMaxDepth: 16,
          shutdownTimeoutMs: 500,
        },
        throttling: {
          enabled: false,
          api: { max: 50, windowMs: 2000 },
          authPerIp: { max: 9, windowMs: 60_000 },
          authPerName: { max: 3, windowMs: 3_600_000 },
          trustedProxies: ['10.0.0.1'],
        },
        cache: { historyTtlSeconds: 30, membershipTtlSeconds: 0 },
        events: {
          heartbeatSeconds: 5,
          maxStreamsPerUser: 2,
          maxBufferBytes: 65_536,
          retentionHours: 48,
          pollMs: 250,
          typingIntervalSeconds: 5,
        },
        inbox: { maxResults: 20, maxAgeDays: 7 },
        idempotency: { ttlSeconds: 3600, cleanupIntervalSeconds: 30 },
        migrateOnStart: false,
      });
    });

    it('reports every bad variable at once in one ConfigError', () => {
      const err = configErrorOf({
        NODE_ENV: 'staging',
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://127.0.0.1/db',
        DATABASE_POOL_SIZE: '0',
        REDIS_URL: 'memcached://127.0.0.1',
        AMQP_URL: 'kafka://127.0.0.1',
        SEARCH_MAX_ATTEMPTS: '0',
        AUTH_DISABLED: 'maybe',
        SESSION_TTL_SECONDS: '-5',
        BODY_LIMIT_BYTES: '1.5',
        MIGRATE_ON_START: 'sometimes',
      });
      expect(err.name).to.equal('ConfigError');
      expect(err.problems.map((p) => p.slice(0, p.indexOf('=')))).to.have.members([
        'NODE_ENV',
        'PORT',
        'LOG_LEVEL',
        'DATABASE_URL',
        'DATABASE_POOL_SIZE',
        'REDIS_URL',
        'AMQP_URL',
        'SEARCH_MAX_ATTEMPTS',
        'AUTH_DISABLED',
        'SESSION_TTL_SECONDS',
        'BODY_LIMIT_BYTES',
        'MIGRATE_ON_START',
      ]);
      for (const problem of err.problems) expect(err.message).to.include(problem);
    });

    it('returns a deeply frozen config', () => {
      const config = loadConfig({ DATABASE_URL: 'pglite://memory' });
      const objects = objectsIn(config);
      expect(objects.map(([path]) => path)).to.include.members([
        'config',
        'config.database',
        'config.store',
        'config.queue',
        'config.search',
        'config.auth',
        'config.http',
      ]);
      for (const [path, object] of objects) expect(Object.isFrozen(object), path).to.equal(true);
      // ES modules run in strict mode, where writing to a frozen object throws.
      expect(() => {
        (config.database as { poolSize: number }).poolSize = 1;
      }).to.throw(TypeError);
      expect(() => {
        (config as { port: number }).port = 1;
      }).to.throw(TypeError);
      expect(config.database.poolSize).to.equal(10);
      expect(config.port).to.equal(8080);
    });

    it('builds a new config per call: one caller cannot change another', () => {
      const a = loadConfig({ PORT: '1000' });
      const b = loadConfig({ PORT: '2000' });
      expect(a.port).to.equal(1000);
      expect(b.port).to.equal(2000);
      expect(a.database).not.to.equal(b.database);
    });
  });
});
