import type { Kysely } from 'kysely';
import type { DB, Logger } from '@messenger/shared';
import { ServerClock, storePosts, type PlainPost, type PostOutcome } from './post-statement.ts';

interface Waiting {
  post: PlainPost;
  resolve: (outcome: PostOutcome) => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitOptions {
  /** Posts per statement at most. */
  maxBatch?: number;
  /**
   * Statements in flight at once. Each ends in a commit under the event log's writers' lock, so
   * they serialize there anyway; a second lets the next batch be sent and planned meanwhile.
   */
  maxInFlight?: number;
  /**
   * How long after it is sent the server may still start a statement (storePosts); past that it
   * writes nothing. Undefined: no limit (a client that waits as long as it takes).
   */
  startWithinMs?: number;
}

/**
 * SQLSTATEs that one post of a batch can cause alone: data it holds that PostgreSQL refuses (class
 * 22, e.g. text it cannot store; 23, a constraint), two posts of the batch with the same
 * Idempotency-Key (21000: one statement cannot record a key twice), or a deadlock or serialization
 * failure the batch's size made likelier. The batch's posts are then tried one by one, so a bad post fails alone.
 * Anything else (the connection, a timeout, the server) would fail each of them too: all get it.
 */
const triedAlone = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(21000$|22|23|40001$|40P01$)/.test(code);
};

/**
 * Group commit: posts that arrive while statements are running wait and then go together, in one
 * statement and one commit (post-statement.ts), so posting is no longer bound by one commit per
 * message, least of all in a busy chat, whose row lock each post would otherwise wait on in turn.
 * A post that arrives when nothing waits goes at once: no delay is added to a quiet instance. Each
 * post still gets its own outcome, and is stored or not on its own (see `triedAlone`). `afterCommit`
 * runs once per statement with the chats it wrote to, before any of its posts is answered; the
 * posts are stored by then, so should it fail they are still answered as stored (and it is logged).
 */
export class GroupCommit {
  private readonly waiting: Waiting[] = [];
  private running = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly startWithin: { ms: number; clock: ServerClock } | undefined;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly afterCommit: (chatIds: string[]) => Promise<void>,
    private readonly log: Logger,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 256;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.startWithin =
      options.startWithinMs === undefined
        ? undefined
        : { ms: options.startWithinMs, clock: new ServerClock() };
  }

  post(post: PlainPost): Promise<PostOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ post, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.running < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.running += 1;
      void this.run(batch).finally(() => {
        this.running -= 1;
        this.next();
      });
    }
  }

  private async run(batch: Waiting[]): Promise<void> {
    let outcomes: PostOutcome[];
    try {
      outcomes = await storePosts(
        this.db,
        batch.map((w) => w.post),
        this.startWithin,
      );
    } catch (err) {
      if (batch.length > 1 && triedAlone(err)) {
        for (const one of batch) await this.run([one]);
      } else {
        for (const w of batch) w.reject(err);
      }
      return;
    }
    const written = new Set(batch.filter((_, i) => outcomes[i] === 'stored').map((w) => w.post.chatId));
    if (written.size > 0) {
      await this.afterCommit([...written]).catch((err: unknown) =>
        this.log.error({ err }, 'after a group commit: the posts are stored, the follow-up failed'),
      );
    }
    batch.forEach((w, i) => w.resolve(outcomes[i]!));
  }
}

/**
 * How long after it is sent the server may still start a post's statement, so that once started it
 * ends, or is cancelled by its statement timeout, before the API's query timeout gives up on it:
 * then a post answered 503 is a post not stored. 400 ms with the defaults (2,000 − 1,500 − 100 for
 * the round trip). PGlite runs in this process: there is nothing to give up on.
 */
export function postStartWithinMs(database: {
  backend: 'postgres' | 'pglite';
  queryTimeoutMs: number;
  statementTimeoutMs: number;
}): number | undefined {
  const { backend, queryTimeoutMs, statementTimeoutMs } = database;
  if (backend !== 'postgres' || queryTimeoutMs <= 0) return undefined;
  // Without a statement timeout (or one past the query timeout) a statement may run on after the
  // API gave up: a quarter of the query timeout is then left for the start, and the rest is hope.
  const running =
    statementTimeoutMs > 0 && statementTimeoutMs < queryTimeoutMs
      ? statementTimeoutMs
      : queryTimeoutMs * 0.75;
  return Math.max(50, queryTimeoutMs - running - 100);
}
