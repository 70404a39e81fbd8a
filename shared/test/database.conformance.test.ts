/**
 * One conformance suite for the Database interface, run against PGlite (always) and PostgreSQL
 * (TEST_POSTGRES_URL): what queries return, transactions, constraints, indexes, ping. Migrations are
 * in migrate.conformance.test.ts. Targets and hooks: support/databases.ts.
 */
import { expect } from 'chai';
import { sql } from 'kysely';
import { migrate } from '../src/db/migrate.ts';
import { describeEachDatabase, insertUser, openDatabase, useTempDir } from './support/databases.ts';
import { rejectionOf, uniqueTag } from './support/real-services.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describeEachDatabase((ctx) => {
  const tag = uniqueTag();
  const unique = (name: string): string => `${name}-${tag}`;

  it('names its backend', () => {
    expect(ctx.database.backend).to.equal(ctx.target.backend);
  });

  describe('queries', () => {
    it('returns int8 (count(*), bigint columns) as JavaScript numbers', async () => {
      const userId = await insertUser(ctx.database, unique('int8'));
      const { id: chatId } = await ctx.database.db
        .insertInto('chats')
        .values({ chat_name: 'int8', created_by: userId, last_message_seq: 2 })
        .returning('id')
        .executeTakeFirstOrThrow();
      await ctx.database.db
        .insertInto('messages')
        .values([
          { chat_id: chatId, seq: 1, user_id: userId, text: 'one' },
          { chat_id: chatId, seq: 2, user_id: userId, text: 'two' },
        ])
        .execute();

      const counted = await ctx.database.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('chat_id', '=', chatId)
        .executeTakeFirstOrThrow();
      expect(counted.n).to.equal(2);

      const chat = await ctx.database.db
        .selectFrom('chats')
        .select('last_message_seq')
        .where('id', '=', chatId)
        .executeTakeFirstOrThrow();
      expect(chat.last_message_seq).to.equal(2);

      const seqs = await ctx.database.db
        .selectFrom('messages')
        .select('seq')
        .where('chat_id', '=', chatId)
        .orderBy('seq')
        .execute();
      expect(seqs).to.deep.equal([{ seq: 1 }, { seq: 2 }]);

      const { rows } = await sql<{ big: number }>`select ${2 ** 40}::int8 * 2 as big`.execute(
        ctx.database.db,
      );
      expect(rows).to.deep.equal([{ big: 2 ** 41 }]);
    });

    it('leaves nothing behind when a transaction throws', async () => {
      const userName = unique('rolled-back');
      const boom = new Error('boom');
      let seenInside = -1;

      const err = await rejectionOf(() =>
        ctx.database.db.transaction().execute(async (trx) => {
          await trx.insertInto('users').values({ user_name: userName }).execute();
          const inside = await trx
            .selectFrom('users')
            .select('id')
            .where('user_name', '=', userName)
            .execute();
          seenInside = inside.length;
          throw boom;
        }),
      );

      expect(err).to.equal(boom);
      expect(seenInside).to.equal(1);
      const after = await ctx.database.db
        .selectFrom('users')
        .select('id')
        .where('user_name', '=', userName)
        .execute();
      expect(after).to.deep.equal([]);
    });

    it('rejects a second user with the same user_name (unique index users_user_name_key)', async () => {
      const userName = unique('taken');
      await insertUser(ctx.database, userName);

      const err = await rejectionOf(() => insertUser(ctx.database, userName));

      expect(err).to.include({ code: '23505', constraint: 'users_user_name_key' });
      const rows = await ctx.database.db
        .selectFrom('users')
        .select('id')
        .where('user_name', '=', userName)
        .execute();
      expect(rows).to.have.length(1);
    });

    it('gives rows gen_random_uuid() ids', async () => {
      const a = await insertUser(ctx.database, unique('uuid-a'));
      const b = await insertUser(ctx.database, unique('uuid-b'));
      expect(a).to.match(UUID);
      expect(b).to.match(UUID);
      expect(a).not.to.equal(b);
      const { rows } = await sql<{ id: string }>`select gen_random_uuid() as id`.execute(ctx.database.db);
      expect(rows[0]?.id).to.match(UUID);
    });

    it('pages history by the index messages_chat_id_seq_key', async function () {
      this.timeout(60_000);
      const userId = await insertUser(ctx.database, unique('history'));
      const chats = await ctx.database.db
        .insertInto('chats')
        .values(Array.from({ length: 50 }, (_, i) => ({ chat_name: `history ${i}`, created_by: userId })))
        .returning('id')
        .execute();
      // 50 chats x 100 messages: enough that an honest planner prefers the index for one chat's page.
      await sql`
        insert into messages (chat_id, seq, user_id, text)
        select c.id, s, ${userId}, 'message ' || s
        from chats c cross join generate_series(1, 100) s
        where c.created_by = ${userId}
      `.execute(ctx.database.db);
      await sql`analyze messages`.execute(ctx.database.db);
      const chatId = chats[17]!.id;

      const { rows } = await sql<Record<string, string>>`
        explain select id, chat_id, seq, user_id, text, created_at
        from messages where chat_id = ${chatId} and seq > ${10}
        order by seq limit 50
      `.execute(ctx.database.db);
      const plan = rows.map((row) => Object.values(row).join('')).join('\n');

      expect(plan).to.include('messages_chat_id_seq_key');
      expect(plan).not.to.include('Seq Scan');

      // and the page it plans is the right one
      const page = await ctx.database.db
        .selectFrom('messages')
        .select('seq')
        .where('chat_id', '=', chatId)
        .where('seq', '>', 10)
        .orderBy('seq')
        .limit(50)
        .execute();
      expect(page.map((m) => m.seq)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 11));
    });
  });

  describe('ping', () => {
    it('answers true for a live database', async () => {
      expect(await ctx.database.ping(2_000)).to.equal(true);
    });

    it('answers false, within its timeout, for a database that does not answer', async function () {
      this.timeout(60_000);
      const dead = await ctx.target.unreachable();
      const started = Date.now();
      expect(await dead.ping(1_000)).to.equal(false);
      expect(Date.now() - started).to.be.below(1_500);
    });
  });
});

describe('PGlite on disk (pglite://<dir>)', () => {
  const dir = useTempDir('messenger-pglite-');

  it('keeps its data when closed and opened again', async function () {
    this.timeout(60_000);
    const url = `pglite://${dir()}/db`;
    const first = await openDatabase(url);
    try {
      expect(first.backend).to.equal('pglite');
      await migrate(first);
      await insertUser(first, 'kept-on-disk');
    } finally {
      await first.close();
    }

    const second = await openDatabase(url);
    try {
      expect(await migrate(second)).to.deep.equal([]);
      const rows = await second.db.selectFrom('users').select('user_name').execute();
      expect(rows).to.deep.equal([{ user_name: 'kept-on-disk' }]);
    } finally {
      await second.close();
    }
  });
});
