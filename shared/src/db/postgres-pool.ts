import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import pg from 'pg';
import { Breaker } from '../breaker.ts';
import { DependencyUnavailableError, isNetworkError } from '../errors.ts';

export interface PostgresPoolSettings {
  url: string;
  poolSize: number;
  /** How long getting a connection may take: a free one from the pool, or a new one opened. */
  connectTimeoutMs: number;
  /** Server side: PostgreSQL cancels a statement that runs longer (0: no limit). */
  statementTimeoutMs: number;
  /** Client side: a query without an answer after this long fails and its connection is dropped (0: none). */
  queryTimeoutMs: number;
  /** After a failure to connect or a query timeout, how long new work fails at once (0: never). */
  breakerMs: number;
}

const INT8_OID = 20;

/**
 * SQLSTATEs that say the server cannot serve now, not that the statement was wrong: connection
 * exceptions (class 08), operator intervention such as a shutdown or a statement cancelled by its
 * timeout (57), insufficient resources (53), and lock or serialisation conflicts a retry resolves.
 */
function isUnavailableSqlState(code: string | undefined): boolean {
  if (!code) return false;
  return (
    code.startsWith('08') ||
    code.startsWith('57') ||
    code.startsWith('53') ||
    code === '40001' ||
    code === '40P01' ||
    code === '55P03'
  );
}

/**
 * The `pg` pool that Kysely's PostgresDialect is given, hardened for a database that goes away:
 * - every client gets an `error` listener when it connects. `pool.on('error')` covers only idle
 *   clients; a checked-out client whose server goes away emits `error` too, and unheard that ends
 *   the process;
 * - failures become {@link DependencyUnavailableError} by what they are: a server error with a
 *   connection-class SQLSTATE, a failure to get a connection, a socket errno, a client that has
 *   lost its connection, or the client-side query timeout. Other server errors (constraint
 *   violations, bad input) pass through unchanged;
 * - a query that times out, or fails on a lost connection, drops its client instead of returning it
 *   to the pool, so the next request gets a fresh connection rather than one stuck behind a dead
 *   query;
 * - a breaker: after a connect or query timeout, new work fails at once for `breakerMs` (new
 *   connections and statements on connections already held), so requests do not queue behind a
 *   server that does not answer, nor wait out a second timeout on a connection that already
 *   failed. The first request after that window tries again.
 */
export class HardenedPool implements PostgresPool {
  readonly pool: pg.Pool;
  private readonly breaker: Breaker;
  /** Clients whose connection failed: dropped on release instead of reused. */
  private readonly broken = new WeakSet<pg.PoolClient>();
  private readonly wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();

  constructor(private readonly settings: PostgresPoolSettings) {
    this.breaker = new Breaker(settings.breakerMs);
    this.pool = new pg.Pool({
      connectionString: settings.url,
      max: settings.poolSize,
      connectionTimeoutMillis: settings.connectTimeoutMs,
      ...(settings.statementTimeoutMs > 0 && { statement_timeout: settings.statementTimeoutMs }),
      // Dead peers are noticed by the kernel even on idle connections.
      keepAlive: true,
      // int8 (bigserial, count(*)) arrives as a string from pg and as a number from PGlite: make both numbers.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID
            ? (v: string) => Number(v)
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client that loses its connection: the pool removes it; nothing else to do.
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => {
      client.on('error', () => this.broken.add(client));
      client.on('end', () => this.broken.add(client));
    });
  }

  async connect(): Promise<PostgresPoolClient> {
    if (this.breaker.open) {
      throw new DependencyUnavailableError('database', 'the database did not answer a moment ago');
    }
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      // A refusal, or the server's own answer ("starting up", 57P03), comes back at once; only a
      // wait that ran out (a server that does not answer, or every connection stuck) is worth
      // failing the next requests fast for. Tripping on the others would hold back the first
      // request after a restart by up to the breaker's window.
      if (!isNetworkError(err) && !(err instanceof pg.DatabaseError)) this.breaker.trip();
      throw new DependencyUnavailableError('database', 'could not get a database connection', {
        cause: err,
      });
    }
    let wrapper = this.wrappers.get(client);
    if (!wrapper) {
      wrapper = this.wrap(client);
      this.wrappers.set(client, wrapper);
    }
    return wrapper;
  }

  end(): Promise<void> {
    return this.pool.end();
  }

  private wrap(client: pg.PoolClient): PostgresPoolClient {
    const query = async <R>(text: string, parameters: ReadonlyArray<unknown>) => {
      // Not even sent on a connection that failed (the ROLLBACK after a timeout would wait out a
      // timeout of its own) or while the breaker is open. Such a connection is dropped on release,
      // and the server rolls back whatever transaction it had open.
      if (this.broken.has(client) || this.breaker.open) {
        this.broken.add(client);
        throw new DependencyUnavailableError('database', 'the database did not answer a moment ago');
      }
      try {
        const result = await this.withTimeout(client, client.query(text, [...parameters]));
        return result as unknown as PostgresQueryResult<R>;
      } catch (err) {
        throw this.classify(client, err);
      }
    };
    return {
      query: query as PostgresPoolClient['query'],
      release: () => client.release(this.broken.has(client) ? true : undefined),
    };
  }

  private withTimeout<T>(client: pg.PoolClient, work: Promise<T>): Promise<T> {
    const ms = this.settings.queryTimeoutMs;
    if (ms <= 0) return work;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The connection is stuck behind this query: never hand it out again.
        this.broken.add(client);
        this.breaker.trip();
        reject(new DependencyUnavailableError('database', `the database did not answer within ${ms} ms`));
      }, ms);
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  private classify(client: pg.PoolClient, err: unknown): unknown {
    if (err instanceof DependencyUnavailableError) return err;
    if (err instanceof pg.DatabaseError) {
      if (!isUnavailableSqlState(err.code)) return err;
      if (err.code?.startsWith('08') || err.code?.startsWith('57P')) this.broken.add(client);
      return new DependencyUnavailableError('database', `the database cannot serve now (${err.code})`, {
        cause: err,
      });
    }
    // Not an answer from the server: the connection failed under the query (reset, terminated,
    // "not queryable" after an earlier error), which the client's error/end listeners have seen.
    if (this.broken.has(client) || isNetworkError(err)) {
      this.broken.add(client);
      return new DependencyUnavailableError('database', 'the database connection failed', { cause: err });
    }
    return err;
  }
}
