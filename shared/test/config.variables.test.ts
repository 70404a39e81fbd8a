/**
 * How loadConfig reads single values and refuses bad ones: rate limits, lists of proxies and
 * origins, empty variables, the backend a URL's scheme names, integers out of range, booleans.
 */
import { expect } from 'chai';
import { loadConfig, type Config } from '../src/config.ts';
import { configErrorOf } from './support/config-error.ts';

describe('config', () => {
  describe('loadConfig', () => {
    it('reads rate limits as requests per window, and trusted proxies as a list', () => {
      const config = loadConfig({
        THROTTLING: 'off',
        RATE_LIMIT_API: '5/2s',
        RATE_LIMIT_AUTH_IP: '3/1m',
        RATE_LIMIT_AUTH_NAME: '7/500ms',
        TRUSTED_PROXIES: '10.0.0.1, 10.0.0.2',
      });
      expect(config.throttling).to.deep.equal({
        enabled: false,
        api: { max: 5, windowMs: 2000 },
        authPerIp: { max: 3, windowMs: 60_000 },
        authPerName: { max: 7, windowMs: 500 },
        trustedProxies: ['10.0.0.1', '10.0.0.2'],
      });
      expect(configErrorOf({ RATE_LIMIT_API: 'fast', RATE_LIMIT_AUTH_IP: '0/1s' }).problems).to.have.length(
        2,
      );
    });

    it('accepts CIDR ranges and proxy names in TRUSTED_PROXIES, and names every entry it cannot read', () => {
      const config = loadConfig({ TRUSTED_PROXIES: 'loopback, 10.0.0.0/8, fd00::/8, 192.0.2.1' });
      expect(config.throttling.trustedProxies).to.deep.equal([
        'loopback',
        '10.0.0.0/8',
        'fd00::/8',
        '192.0.2.1',
      ]);
      const problems = configErrorOf({ TRUSTED_PROXIES: 'nginx, 10.0.0.0/99, 127.0.0.1' }).problems;
      expect(problems).to.have.length(2);
      expect(problems.join('\n')).to.contain('"nginx"').and.contain('"10.0.0.0/99"');
    });

    it('accepts * or exact origins in CORS_ORIGINS, and names every entry that is not one', () => {
      expect(loadConfig({ CORS_ORIGINS: '*' }).http.corsOrigins).to.deep.equal(['*']);
      const problems = configErrorOf({
        CORS_ORIGINS: 'https://ok.example, https://slash.example/, app.example.com, https://path.example/x',
      }).problems;
      expect(problems).to.have.length(3);
    });

    it('treats an empty variable as unset', () => {
      const config = loadConfig({ PORT: '', DATABASE_URL: '', AUTH_DISABLED: '', LOG_LEVEL: '' });
      expect(config.port).to.equal(8080);
      expect(config.database.url).to.equal('pglite://./.data/db');
      expect(config.auth.disabled).to.equal(false);
      expect(config.logLevel).to.equal('info');
    });

    it('treats an empty SEARCH_* variable as unset', () => {
      const config = loadConfig({ SEARCH_QUEUE: '', SEARCH_PREFETCH: '', SEARCH_TIMEOUT_MS: '' });
      expect(config.queue.queueName).to.equal('search_tasks_queue');
      expect(config.queue.prefetch).to.equal(10);
      expect(config.search.timeoutMs).to.equal(5000);
    });

    const backends: Array<[variable: string, url: string, pick: (c: Config) => string, backend: string]> = [
      ['DATABASE_URL', 'postgres://u@127.0.0.1:5432/db', (c) => c.database.backend, 'postgres'],
      ['DATABASE_URL', 'postgresql://u@127.0.0.1/db', (c) => c.database.backend, 'postgres'],
      ['DATABASE_URL', 'pglite://memory', (c) => c.database.backend, 'pglite'],
      ['DATABASE_URL', 'pglite:///var/lib/messenger', (c) => c.database.backend, 'pglite'],
      ['REDIS_URL', 'redis://127.0.0.1:6379/0', (c) => c.store.backend, 'redis'],
      ['REDIS_URL', 'rediss://cache.example:6380', (c) => c.store.backend, 'redis'],
      ['REDIS_URL', 'memory://', (c) => c.store.backend, 'memory'],
      ['AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', (c) => c.queue.backend, 'amqp'],
      ['AMQP_URL', 'amqps://mq.example', (c) => c.queue.backend, 'amqp'],
      ['AMQP_URL', 'memory://', (c) => c.queue.backend, 'memory'],
    ];
    for (const [variable, url, pick, backend] of backends) {
      it(`chooses the ${backend} backend for ${variable}=${url}`, () => {
        const config = loadConfig({ [variable]: url });
        expect(pick(config)).to.equal(backend);
      });
    }

    it('rejects a URL with an unknown scheme, naming the variable but not the password', () => {
      const err = configErrorOf({ DATABASE_URL: 'mysql://root:s3cret@127.0.0.1/db' });
      expect(err.problems).to.have.length(1);
      expect(err.problems[0]).to.match(/^DATABASE_URL=/);
      expect(err.problems[0]).to.include('postgres://');
      expect(err.message).not.to.include('s3cret');
    });

    const badNumbers: Array<[string, string]> = [
      ['PORT', '65536'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['PORT', 'abc'],
      ['DATABASE_POOL_SIZE', '1001'],
      ['SESSION_TTL_SECONDS', '0'],
      ['BODY_LIMIT_BYTES', '1023'],
      ['JSON_MAX_DEPTH', '7'],
      ['JSON_MAX_DEPTH', '1001'],
      ['SHUTDOWN_TIMEOUT_MS', '600001'],
      ['SEARCH_PREFETCH', '0'],
      ['SEARCH_PREFETCH', '1001'],
      ['SEARCH_MAX_ATTEMPTS', '0'],
      ['SEARCH_MAX_ATTEMPTS', '101'],
      ['SEARCH_MAX_PHRASE_LENGTH', '3'],
      ['SEARCH_MAX_RESULTS', '0'],
      ['SEARCH_TIMEOUT_MS', '99'],
      ['SEARCH_RESULT_TTL_SECONDS', '0'],
      ['SEARCH_PENDING_TTL_SECONDS', 'soon'],
      ['INBOX_MAX_RESULTS', '0'],
      ['INBOX_MAX_RESULTS', '1001'],
      ['INBOX_MAX_AGE_DAYS', '0'],
      ['INBOX_MAX_AGE_DAYS', '3651'],
      ['ACCOUNT_NAME_GRACE_DAYS', '-1'],
      ['ACCOUNT_NAME_GRACE_DAYS', '3651'],
      ['IDEMPOTENCY_TTL_SECONDS', '59'],
      ['IDEMPOTENCY_CLEANUP_INTERVAL_SECONDS', '0'],
    ];
    for (const [variable, value] of badNumbers) {
      it(`rejects ${variable}=${value} as out of range or not an integer`, () => {
        const err = configErrorOf({ [variable]: value });
        expect(err.problems).to.deep.equal([err.problems[0]]);
        expect(err.problems[0]).to.match(new RegExp(`^${variable}=`));
        expect(err.problems[0]).to.include('expected an integer');
      });
    }

    it('refuses more hashing lanes at once than the libuv thread pool can run beside its other work', () => {
      expect(
        loadConfig({ PASSWORD_HASH_CONCURRENCY: '3', UV_THREADPOOL_SIZE: '4' }).auth.passwordHash,
      ).to.include({
        concurrency: 3,
        threadPoolSize: 4,
      });
      const problems = configErrorOf({
        PASSWORD_HASH_CONCURRENCY: '2',
        PASSWORD_HASH_PARALLELISM: '2',
      }).problems;
      expect(problems).to.have.length(1);
      expect(problems[0]).to.contain('UV_THREADPOOL_SIZE (4)');
      expect(configErrorOf({ PASSWORD_HASH_MEMORY_KIB: '64' }).problems[0]).to.contain(
        'PASSWORD_HASH_MEMORY_KIB',
      );
    });

    it('accepts the usual spellings of true and false', () => {
      for (const yes of ['1', 'true', 'TRUE', 'yes', 'on']) {
        expect(loadConfig({ AUTH_DISABLED: yes }).auth.disabled, yes).to.equal(true);
      }
      for (const no of ['0', 'false', 'False', 'no', 'off']) {
        expect(loadConfig({ MIGRATE_ON_START: no }).migrateOnStart, no).to.equal(false);
      }
    });
  });
});
