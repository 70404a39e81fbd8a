import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

describe('POST /v1/chats/{chat_id}/messages/batch (postMessageBatch)', () => {
  let t: TestContext;
  let alice: TestUser;
  let stranger: TestUser;
  before(async () => {
    t = await TestContext.start();
    alice = await t.registerUser('alice');
    stranger = await t.registerUser('stranger');
  });
  after(() => t.stop());

  const batch = (user: TestUser | undefined, chat_id: string, messages: unknown[]) =>
    (user?.api ?? t.api).POST('/v1/chats/{chat_id}/messages/batch', {
      params: { path: { chat_id } },
      body: { messages } as never,
    });
  const stored = (chatId: string) =>
    t.database.db
      .selectFrom('messages')
      .select(['id', 'text', 'seq'])
      .where('chat_id', '=', chatId)
      .orderBy('seq')
      .execute();
  const lastSeq = async (chatId: string) =>
    Number(
      (
        await t.database.db
          .selectFrom('chats')
          .select('last_message_seq')
          .where('id', '=', chatId)
          .executeTakeFirstOrThrow()
      ).last_message_seq,
    );
  const texts = (n: number, tag = 'b') =>
    Array.from({ length: n }, (_, i) => ({ message: `${tag}${i + 1}` }));

  it('answers 401 auth-failed without a session', async () => {
    const chat = await t.createChat(alice);
    expectError(await batch(undefined, chat, texts(2)), 401, 'auth-failed');
  });

  it('answers 400 bad-parameters for no messages, over 100, or one invalid item, and stores none', async () => {
    const chat = await t.createChat(alice);
    expectError(await batch(alice, chat, []), 400, 'bad-parameters', /messages/);
    expectError(await batch(alice, chat, texts(101)), 400, 'bad-parameters', /messages.*100/);
    const oneBad = [...texts(3), { message: '' }, ...texts(3)];
    expectError(await batch(alice, chat, oneBad), 400, 'bad-parameters', /messages\.3\.message/);
    const badAttachment = [...texts(2), { attachments: [{ type: 'image', url: 'https://x.example' }] }];
    expectError(
      await batch(alice, chat, badAttachment),
      400,
      'bad-parameters',
      /messages\.2\.attachments\.0/,
    );
    expectError(await batch(alice, chat, [...texts(2), {}]), 400, 'bad-parameters', /messages\.2/);
    expect(await stored(chat)).to.deep.equal([]);
    expect(await lastSeq(chat)).to.equal(0);
  });

  it('answers 403 forbidden to a stranger and 404 chat-not-found for an unknown chat', async () => {
    const chat = await t.createChat(alice);
    expectError(await batch(stranger, chat, texts(2)), 403, 'forbidden');
    expectError(await batch(alice, randomUUID(), texts(2)), 404, 'chat-not-found');
    expect(await stored(chat)).to.deep.equal([]);
  });

  it('stores 100 messages in order with consecutive seqs and answers their ids in that order', async () => {
    const chat = await t.createChat(alice);
    await t.post(alice, chat, 'before');
    const { data, response } = await batch(alice, chat, texts(100));
    expect(response.status).to.equal(201);
    const rows = await stored(chat);
    expect(rows.map((r) => r.text)).to.deep.equal(['before', ...texts(100).map((m) => m.message)]);
    expect(rows.map((r) => Number(r.seq))).to.deep.equal(Array.from({ length: 101 }, (_, i) => i + 1));
    expect(data!.message_ids).to.deep.equal(rows.slice(1).map((r) => r.id));
    expect(await lastSeq(chat)).to.equal(101);

    const { data: page } = await t.history(alice, chat, { limit: 3, order: 'desc' });
    expect(page!.messages.map((m) => m.text)).to.deep.equal(['b100', 'b99', 'b98']);
  });

  it('never interleaves two concurrent batches: each gets a consecutive run of seqs', async () => {
    const chat = await t.createChat(alice);
    await Promise.all([batch(alice, chat, texts(30, 'x')), batch(alice, chat, texts(30, 'y'))]);
    const rows = (await stored(chat)).map((r) => r.text[0]).join('');
    expect(rows).to.match(/^(x{30}y{30}|y{30}x{30})$/);
  });

  it('stores nothing when the database fails in the middle of a batch', async () => {
    const chat = await t.createChat(alice);
    const poison = `poison-${randomUUID()}`;
    const fn = `test_fail_${randomUUID().replace(/-/g, '')}`;
    await sql
      .raw(
        `create function ${fn}() returns trigger language plpgsql as $$ begin
           if new.text = '${poison}' then raise exception 'injected failure'; end if; return new; end $$`,
      )
      .execute(t.database.db);
    // Row by row, after the chat row's seq was bumped in the same transaction.
    await sql
      .raw(`create trigger ${fn} before insert on messages for each row execute function ${fn}()`)
      .execute(t.database.db);
    try {
      const answer = await batch(alice, chat, [...texts(5), { message: poison }, ...texts(5)]);
      expectError(answer, 500, 'internal-error');
    } finally {
      await sql.raw(`drop trigger ${fn} on messages`).execute(t.database.db);
      await sql.raw(`drop function ${fn}()`).execute(t.database.db);
    }
    expect(await stored(chat)).to.deep.equal([]);
    expect(await lastSeq(chat)).to.equal(0);
    // And the chat takes messages again from seq 1.
    expect((await batch(alice, chat, texts(2))).response.status).to.equal(201);
    expect((await stored(chat)).map((r) => Number(r.seq))).to.deep.equal([1, 2]);
  });
});
