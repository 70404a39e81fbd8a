/**
 * What the SearchRepository suites share: fresh migrated databases on PGlite (always) and PostgreSQL
 * (TEST_POSTGRES_URL), a fixture that writes users, chats and messages straight to the database, and
 * `describeSearch`, which declares a suite once per backend. Each PostgreSQL run works in databases
 * of its own, made by the database suite's targets (support/databases.ts) and dropped afterwards;
 * each test makes its own users and chats, so tests never see each other's messages.
 */
import { expect } from 'chai';
import type { Kysely } from 'kysely';
import { migrate, readMigrations, type Database, type DB } from '@messenger/shared';
import { describeRealService, realService, uniqueTag } from '../../../shared/test/support/real-services.ts';
import { pgliteTarget, postgresTarget, type DatabaseTarget } from '../../../shared/test/support/databases.ts';
import { SearchRepository, type SearchHit } from '../../src/search/search.repository.ts';

/** Opens new, migrated (or, with `upTo`, partly migrated) databases and disposes of them. */
export interface Target {
  fresh(upTo?: number): Promise<Database>;
  dispose(): Promise<void>;
}

/** The database conformance suite's target, each new database migrated as far as asked. */
function migratedTarget(target: DatabaseTarget): Target {
  return {
    async fresh(upTo) {
      const database = await (await target.fresh()).open();
      const all = await readMigrations();
      await migrate(database, upTo === undefined ? all : all.filter((m) => m.version <= upTo));
      return database;
    },
    dispose: () => target.dispose(),
  };
}

export async function searchPostgresTarget(url: string): Promise<Target> {
  return migratedTarget(await postgresTarget(url, 'messenger_search'));
}

/** Users, chats and messages written straight to the database, each test with its own. */
export class Fixture {
  private readonly seqs = new Map<string, number>();
  /** Every message is a second newer than the one before, unless a time is given. */
  private clock = Date.UTC(2024, 0, 1);

  constructor(readonly db: Kysely<DB>) {}

  async user(name = 'user'): Promise<string> {
    const row = await this.db
      .insertInto('users')
      .values({ user_name: `${name}-${uniqueTag()}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async chat(...members: string[]): Promise<string> {
    const row = await this.db
      .insertInto('chats')
      .values({ chat_name: `chat-${uniqueTag()}`, created_by: members[0] ?? null })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (members.length > 0) {
      await this.db
        .insertInto('chat_members')
        .values(members.map((user_id) => ({ chat_id: row.id, user_id })))
        .execute();
    }
    return row.id;
  }

  async post(chatId: string, userId: string, text: string, at?: Date): Promise<string> {
    const seq = (this.seqs.get(chatId) ?? 0) + 1;
    this.seqs.set(chatId, seq);
    this.clock += 1000;
    const row = await this.db
      .insertInto('messages')
      .values({ chat_id: chatId, seq, user_id: userId, text, created_at: at ?? new Date(this.clock) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async leave(chatId: string, userId: string): Promise<void> {
    await this.db
      .deleteFrom('chat_members')
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .execute();
  }
}

export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);
export const texts = (hits: SearchHit[]): string[] => hits.map((h) => h.text);
export const marked = (hit: SearchHit): string[] => hit.highlights.map((h) => hit.text.slice(h.start, h.end));

/**
 * One suite's database and repository, set in its `before` hook: read the fields inside tests and
 * hooks, not while declaring them.
 */
export class SearchContext {
  target!: Target;
  database!: Database;
  repo!: SearchRepository;
  fx!: Fixture;

  /** A user alone in a chat of their own with these messages, oldest first. */
  userWith = async (...messages: string[]): Promise<{ user: string; chat: string }> => {
    const user = await this.fx.user();
    const chat = await this.fx.chat(user);
    for (const text of messages) await this.fx.post(chat, user, text);
    return { user, chat };
  };

  /** The results of a search with time to spare: it must not come back partial. */
  search = async (userId: string, phrase: string, limit = 100): Promise<SearchHit[]> => {
    const outcome = await this.repo.search({ userId, phrase, limit, deadline: Date.now() + 30_000 });
    expect(outcome.partial, 'partial').to.equal(false);
    return outcome.results;
  };
}

/** The hooks of one backend's suite: a fresh, migrated database before it, dropped after it. */
function describeOn(open: () => Promise<Target>, body: (ctx: SearchContext) => void): void {
  const ctx = new SearchContext();
  let target: Target | undefined;

  before(async function () {
    this.timeout(60_000);
    target = await open();
    ctx.target = target;
    ctx.database = await target.fresh();
    ctx.repo = new SearchRepository(ctx.database.db);
    ctx.fx = new Fixture(ctx.database.db);
  });

  after(async function () {
    this.timeout(60_000);
    await target?.dispose();
  });

  body(ctx);
}

export const postgres = realService(
  'PostgreSQL',
  'TEST_POSTGRES_URL',
  'postgres://postgres@127.0.0.1:5432/postgres',
);

/** Declares `body` under "SearchRepository" once on PGlite and once on PostgreSQL. */
export function describeSearch(body: (ctx: SearchContext) => void): void {
  describe('SearchRepository', () => {
    describe('on PGlite', () => describeOn(async () => migratedTarget(pgliteTarget()), body));
    describeRealService('on PostgreSQL', postgres, (url) =>
      describeOn(() => searchPostgresTarget(url as string), body),
    );
  });
}
