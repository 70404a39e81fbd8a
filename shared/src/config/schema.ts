/**
 * The shape of the configuration: every field of the frozen tree the processes are given, each
 * with the variable that sets it. load.ts reads them from the environment, with their defaults
 * and ranges.
 */
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
    /**
     * ACCOUNT_NAME_GRACE_DAYS: a deleted account's name (and its look-alikes) stays taken this many
     * days, so no one can pose as the person who left right away (default 30; 0 frees it at once).
     */
    readonly accountNameGraceDays: number;
    /**
     * Password hashing (argon2id), OWASP's parameters by default. A hash of other parameters is still
     * verified, and replaced on the user's next successful login.
     */
    readonly passwordHash: {
      /** PASSWORD_HASH_MEMORY_KIB: memory per hash in KiB (default 19456, 19 MiB). */
      readonly memoryKiB: number;
      /** PASSWORD_HASH_TIME_COST: passes over that memory (default 2). */
      readonly timeCost: number;
      /** PASSWORD_HASH_PARALLELISM: lanes per hash (default 1). */
      readonly parallelism: number;
      /** PASSWORD_HASH_CONCURRENCY: hashes computed at once per process (default 2, the libuv threads left for them). */
      readonly concurrency: number;
      /** PASSWORD_HASH_QUEUE: hashes that may wait for a slot; one more is answered 503 with Retry-After (default 256). */
      readonly queue: number;
      /**
       * UV_THREADPOOL_SIZE: libuv's thread pool (default 4), set where the process starts
       * (scripts/start.mjs, the Dockerfile). Hashes run on it, so CONCURRENCY × PARALLELISM must be below it.
       */
      readonly threadPoolSize: number;
    };
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
  /** The real-time stream, `GET /v1/events`. */
  readonly events: {
    /** EVENTS_HEARTBEAT_SECONDS: a comment line this often keeps proxies from closing an idle stream (default 15). */
    readonly heartbeatSeconds: number;
    /** EVENTS_MAX_STREAMS_PER_USER: streams one user may hold across every API instance; another closes the oldest (default 5). */
    readonly maxStreamsPerUser: number;
    /** EVENTS_MAX_BUFFER_BYTES: a reader this far behind gets a last `resync` and is disconnected (default 1 MiB). */
    readonly maxBufferBytes: number;
    /** EVENTS_RETENTION_HOURS: how long events are kept for resuming (default 24, at least 24). */
    readonly retentionHours: number;
    /** EVENTS_POLL_MS: how often each instance reads the log without a notification, should one be lost (default 1000). */
    readonly pollMs: number;
    /** TYPING_INTERVAL_SECONDS: a `typing` repeat within this long is not sent again (default 3). */
    readonly typingIntervalSeconds: number;
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
