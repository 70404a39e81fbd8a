import { expect } from 'chai';
import type { AccountExportRepository } from '../src/accounts/account-export.repository.ts';
import { AccountExportService, EXPORT_BATCH } from '../src/accounts/account-export.service.ts';
import { Actor } from '../src/auth/actor.ts';
import type { UsersService } from '../src/users/users.service.ts';
import { expectError } from './support/expect-error.ts';
import { TestContext, uniqueName } from './support/test-context.ts';

/** GET /v1/users/me/export (issue 13): the caller's own data as one streamed JSON document. */
describe('accounts: exporting one (exportMe)', function () {
  this.timeout(90_000);
  let t: TestContext;

  before(async () => {
    t = await TestContext.start();
  });
  after(() => t.stop());

  interface Export {
    exported_at: string;
    profile: { user_id: string; user_name: string; display_name: string | null };
    chats: Array<{ chat_id: string; chat_name: string; kind: string; topic: string | null; role: string }>;
    messages: Array<{ message_id: string; chat_id: string; text: string; attachments: unknown[] }>;
  }

  it('answers 401 auth-failed without a session', async () => {
    expectError(await t.raw('GET', '/v1/users/me/export'), 401, 'auth-failed');
  });

  it('answers 403 forbidden when user_id names someone else', async () => {
    const [alice, bob] = await t.registerUsers('alice', 'bob');
    expectError(
      await t.raw('GET', `/v1/users/me/export?user_id=${bob.userId}`, {
        headers: { Authorization: `session_id ${alice.token}` },
      }),
      403,
      'forbidden',
    );
  });

  it("streams the caller's profile, chats and own messages only, as an attachment", async () => {
    const [alice, bob] = await t.registerUsers('alice', 'bob');
    await alice.api.PATCH('/v1/users/me', { body: { display_name: 'Alice' } });
    const shared = await t.chatWith(alice, bob);
    await alice.api.PATCH('/v1/chats/{chat_id}', {
      params: { path: { chat_id: shared } },
      body: { topic: 'us' },
    });
    const bobs = await t.createChat(bob);
    const mine = [await t.post(alice, shared, 'one'), await t.post(alice, shared, 'two')];
    await t.post(bob, shared, 'not mine');
    await t.post(bob, bobs, 'not mine either');
    const withImage = await alice.api.POST('/v1/chats/{chat_id}/messages', {
      params: { path: { chat_id: shared } },
      body: {
        message: 'look',
        attachments: [{ type: 'image', url: 'https://example.com/a.jpg', width: 1, height: 2 }],
      },
    });
    mine.push(withImage.data!.message_id);

    const res = await t.raw('GET', '/v1/users/me/export', {
      headers: { Authorization: `session_id ${alice.token}` },
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    expect(res.headers.get('content-disposition')).to.equal(
      `attachment; filename="messenger-export-${alice.userId}.json"`,
    );
    // Written as it is read: no length known up front.
    expect(res.headers.get('content-length')).to.equal(null);
    const doc = res.json as Export;
    expect(doc.profile).to.include({
      user_id: alice.userId,
      user_name: alice.userName,
      display_name: 'Alice',
    });
    expect(doc.chats).to.have.length(1);
    expect(doc.chats[0]).to.include({ chat_id: shared, kind: 'group', topic: 'us', role: 'owner' });
    expect(doc.messages.map((m) => m.message_id)).to.deep.equal(mine);
    expect(doc.messages.map((m) => m.text)).to.deep.equal(['one', 'two', 'look']);
    expect(doc.messages[2]!.attachments).to.deep.equal([
      { type: 'image', url: 'https://example.com/a.jpg', width: 1, height: 2 },
    ]);
    expect(Date.parse(doc.exported_at)).to.be.closeTo(Date.now(), 60_000);
  });

  it(`pages through more than one batch (${EXPORT_BATCH} rows) of messages and chats, in order, none twice`, async () => {
    const alice = await t.registerUser('alice');
    const chats = [await t.createChat(alice), await t.createChat(alice)];
    const perChat = Math.ceil((EXPORT_BATCH + 50) / 2);
    const written: string[] = [];
    for (const chat of chats.sort()) {
      for (let i = 0; i < perChat; i += 100) {
        const n = Math.min(100, perChat - i);
        const { data } = await alice.api.POST('/v1/chats/{chat_id}/messages/batch', {
          params: { path: { chat_id: chat } },
          body: { messages: Array.from({ length: n }, (_, k) => ({ message: `m${i + k}` })) },
        });
        written.push(...data!.message_ids);
      }
    }
    const { data, response } = await alice.api.GET('/v1/users/me/export');
    expect(response.status).to.equal(200);
    expect(data!.messages.map((m) => m.message_id)).to.deep.equal(written);
    expect(data!.chats.map((c) => c.chat_id)).to.deep.equal(chats);
  });

  it('exports an account with no chats and no messages', async () => {
    const alice = await t.registerUser('alice');
    const { data } = await alice.api.GET('/v1/users/me/export');
    expect(data).to.include.keys('exported_at', 'profile', 'chats', 'messages');
    expect(data!.chats).to.deep.equal([]);
    expect(data!.messages).to.deep.equal([]);
  });

  it('reads the next batch only when the reader has taken the one before (nothing held in memory)', async () => {
    const calls: string[] = [];
    const message = (chatId: string, seq: number) => ({
      id: `${chatId}-${seq}`,
      chat_id: chatId,
      seq,
      text: 'x',
      created_at: new Date(0),
      edited_at: null,
      attachments: [],
    });
    const repository = {
      chats: () => Promise.resolve([]),
      messages: (_userId: string, after: { chatId: string; seq: number } | undefined) => {
        calls.push(after ? `${after.chatId}/${after.seq}` : 'start');
        const from = after?.seq ?? 0;
        // Three full batches of 2, then a short one: the end.
        return Promise.resolve(
          from >= 6 ? [message('c', 7)] : [message('c', from + 1), message('c', from + 2)],
        );
      },
    } as unknown as AccountExportRepository;
    const users = {
      me: () =>
        Promise.resolve({
          user_id: 'u',
          user_name: 'alice',
          display_name: null,
          created_at: new Date(0).toISOString(),
        }),
    } as unknown as UsersService;
    const { body } = await new AccountExportService(repository, users, 2).export(Actor.session('u'));
    const reader = body[Symbol.asyncIterator]();
    let text = '';
    while (!text.includes('c-1')) text += String((await reader.next()).value);
    // The first batch, and the one after it at most, read ahead while the client takes the first.
    expect(calls.length).to.be.at.most(2);
    expect(calls[0]).to.equal('start');
    for (let r = await reader.next(); !r.done; r = await reader.next()) text += String(r.value);
    expect(calls).to.deep.equal(['start', 'c/2', 'c/4', 'c/6']);
    const doc = JSON.parse(text) as Export;
    expect(doc.messages.map((m) => m.message_id)).to.deep.equal([1, 2, 3, 4, 5, 6, 7].map((n) => `c-${n}`));
  });

  describe('with AUTH_DISABLED=true', () => {
    it('exports the ?user_id= user, and answers 404 user-not-found for an unknown one', async () => {
      const legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
      try {
        const registered = await legacy.api.POST('/v1/auth/register', {
          body: { user_name: uniqueName('legacy'), password: 'a good long password' },
        });
        const id = registered.data!.user_id;
        const ok = await legacy.api.GET('/v1/users/me/export', { params: { query: { user_id: id } } });
        expect(ok.response.status).to.equal(200);
        expect(ok.data!.profile.user_id).to.equal(id);
        expectError(
          await legacy.api.GET('/v1/users/me/export', {
            params: { query: { user_id: '00000000-0000-4000-8000-000000000000' } },
          }),
          404,
          'user-not-found',
        );
      } finally {
        await legacy.stop();
      }
    });
  });
});
