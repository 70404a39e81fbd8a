import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { SearchTaskStore } from '@messenger/shared';
import { expectError } from './support/expect-error.ts';
import { readAll, search, sleep, startSearch, waitForStatus } from './support/search.ts';
import { TestContext, uniqueName, type TestUser } from './support/test-context.ts';

// Tasks that wait, fail or expire, a consumer that dies and a broker that is down: search-failures.test.ts.
describe('search', function () {
  this.timeout(60_000);
  let t: TestContext;
  let alice: TestUser;
  let bob: TestUser;
  let chatId: string;
  let othersChat: string;
  /** A word no other test run has used, so results are exactly this file's messages. */
  const tag = `zq${randomUUID().slice(0, 8).replace(/-/g, '')}`;

  before(async () => {
    t = await TestContext.start();
    alice = await t.registerUser('alice');
    bob = await t.registerUser('bob');
    chatId = await t.createChat(alice);
    othersChat = await t.createChat(bob);
  });
  after(() => t.stop());

  describe('POST /v1/chats/search (createSearchTask)', () => {
    it('answers 401 auth-failed without a session', async () => {
      expectError(
        await t.api.POST('/v1/chats/search', { body: { message: 'hello there' } }),
        401,
        'auth-failed',
      );
    });

    it('answers 400 bad-parameters for a missing, non-string, too short (after trimming) or too long phrase', async () => {
      const bodies = [
        {},
        { message: 42 },
        { message: 'abc' },
        { message: '   ab   ' },
        { message: 'x'.repeat(257) },
      ];
      for (const body of bodies) {
        expectError(
          await alice.api.POST('/v1/chats/search', { body: body as never }),
          400,
          'bad-parameters',
          /message/,
        );
      }
    });

    it('answers 201 with a task id, and the task goes WAITING → SUCCESS with when it started and ended', async () => {
      const taskId = await startSearch(alice, 'nothing matches this');
      const done = await waitForStatus(alice, taskId);
      expect(done).to.include({
        task_id: taskId,
        status: 'SUCCESS',
        result_count: 0,
        partial: false,
        reason: null,
      });
      expect(Date.parse(done.finished_at!)).to.be.at.least(Date.parse(done.created_at));
    });
  });

  describe('GET /v1/chats/search/status/{task_id} (getSearchTaskStatus)', () => {
    it('answers 401 without a session', async () => {
      const answer = await t.api.GET('/v1/chats/search/status/{task_id}', {
        params: { path: { task_id: randomUUID() } },
      });
      expectError(answer, 401, 'auth-failed');
    });

    it("answers 404 task-not-found for an unknown, a malformed and another user's task", async () => {
      const bobsTask = await startSearch(bob, 'bob searches');
      for (const taskId of [randomUUID(), 'random_task', bobsTask]) {
        const answer = await alice.api.GET('/v1/chats/search/status/{task_id}', {
          params: { path: { task_id: taskId } },
        });
        expectError(answer, 404, 'task-not-found');
      }
    });
  });

  describe('results', () => {
    let ids: string[];
    before(async () => {
      ids = [];
      for (let i = 0; i < 7; i++) ids.push(await t.post(alice, chatId, `${tag} number ${i}`));
      await t.post(bob, othersChat, `${tag} in a chat alice is not in`);
    });

    it("finds only messages of the caller's chats, newest first, with where they matched", async () => {
      const hits = await search(alice, tag);
      expect(hits.map((h) => h.message_id)).to.deep.equal([...ids].reverse());
      const [first] = hits;
      expect(first).to.include({
        chat_id: chatId,
        user_id: alice.userId,
        user_name: alice.userName,
        text: `${tag} number 6`,
      });
      expect(first!.highlights).to.deep.equal([{ start: 0, end: tag.length }]);
    });

    it('answers 401, 404 for another user, 400 for a bad limit or foreign iterator', async () => {
      const taskId = await startSearch(alice, tag);
      await waitForStatus(alice, taskId);
      const path = { task_id: taskId };
      expectError(
        await t.api.GET('/v1/chats/search/{task_id}/messages', { params: { path, query: { limit: 5 } } }),
        401,
        'auth-failed',
      );
      expectError(
        await bob.api.GET('/v1/chats/search/{task_id}/messages', { params: { path, query: { limit: 5 } } }),
        404,
        'task-not-found',
      );
      for (const limit of [0, 1001, -1]) {
        const answer = await alice.api.GET('/v1/chats/search/{task_id}/messages', {
          params: { path, query: { limit } },
        });
        expectError(answer, 400, 'bad-parameters', /limit/);
      }
      const garbage = await alice.api.GET('/v1/chats/search/{task_id}/messages', {
        params: { path, query: { limit: 5, from: 'not-an-iterator' } },
      });
      expectError(garbage, 400, 'bad-parameters', /from/);
    });

    it('pages with limit and from, and a from acknowledges (drains) what came before, retryable', async () => {
      const taskId = await startSearch(alice, tag);
      await waitForStatus(alice, taskId);
      const page = (from?: string) =>
        alice.api.GET('/v1/chats/search/{task_id}/messages', {
          params: { path: { task_id: taskId }, query: { limit: 3, ...(from ? { from } : {}) } },
        });
      const first = await page();
      expect(first.data!.messages.map((m) => m.message_id)).to.deep.equal([ids[6], ids[5], ids[4]]);
      const second = await page(first.data!.next!.iterator);
      expect(second.data!.messages.map((m) => m.message_id)).to.deep.equal([ids[3], ids[2], ids[1]]);
      // The same from again: the response was lost, nothing is.
      const retried = await page(first.data!.next!.iterator);
      expect(retried.data).to.deep.equal(second.data);
      // What was acknowledged is gone from the store: a fresh read starts after it.
      const afresh = await page();
      expect(afresh.data!.messages[0]!.message_id).to.equal(ids[3]);
      const last = await page(second.data!.next!.iterator);
      expect(last.data!.messages.map((m) => m.message_id)).to.deep.equal([ids[0]]);
      expect(last.data!.next).to.equal(undefined);
      // An iterator from before the drained point names results that are gone.
      expectError(await page(first.data!.next!.iterator), 400, 'bad-parameters', /acknowledged/);
    });

    it('keeps at most 100 results, the newest', async () => {
      const many = await t.createChat(alice);
      const word = `${tag}many`;
      const posted: string[] = [];
      for (let i = 0; i < 105; i++) posted.push(await t.post(alice, many, `${word} ${i}`));
      const taskId = await startSearch(alice, word);
      expect((await waitForStatus(alice, taskId)).result_count).to.equal(100);
      const hits = await readAll(alice, taskId);
      expect(hits.map((h) => h.message_id)).to.deep.equal(posted.slice(5).reverse());
    });

    it('no longer finds the messages of a chat the user was in, once removed from it', async () => {
      const shared = await t.chatWith(bob, alice);
      await t.post(bob, shared, `${tag}removal hello`);
      expect(await search(alice, `${tag}removal`)).to.have.length(1);
      await t.database.db
        .deleteFrom('chat_members')
        .where('chat_id', '=', shared)
        .where('user_id', '=', alice.userId)
        .execute();
      expect(await search(alice, `${tag}removal`)).to.have.length(0);
    });
  });

  describe('matching rules, end to end', () => {
    const rules: Array<[string, string, string]> = [
      ['English word forms', 'I was running late', 'runs'],
      ['Russian word forms', 'Новое сообщение в чате', 'сообщения'],
      ['prefixes', 'see the message above', 'mess'],
      ['hyphenated words', 'a state-of-the-art design', 'state-of-the-art'],
      ['e-mail addresses', 'write to bob@example.com today', 'bob@example.com'],
      ['URLs', 'docs at https://example.com/guide/start', 'example.com/guide'],
      ['mixed case', 'The QuickBrown fox', 'quickbrown'],
      ['typos of up to 2 characters in words of 5 or more', 'hello world', 'helo wrold'],
      ['stop words alone', 'to be or not to be', 'to be or not'],
    ];
    for (const [rule, text, phrase] of rules) {
      it(`finds by ${rule}: "${phrase}" finds "${text}"`, async () => {
        const chat = await t.createChat(alice);
        const id = await t.post(alice, chat, `${text} ${tag}rules`);
        const hits = await search(alice, `${phrase} ${tag}rules`);
        expect(hits.map((h) => h.message_id)).to.include(id);
      });
    }
  });

  describe('relevance, end to end (issue 14)', () => {
    /** A word no other test used, so each search sees its own messages only. */
    const own = () => `zr${randomUUID().slice(0, 8)}`;

    it('keeps the phrase as written first, says how each result matched, and returns them newest first', async () => {
      const chat = await t.createChat(alice);
      const word = own();
      const phrase = await t.post(alice, chat, `${word} best days ever`);
      const bag = await t.post(alice, chat, `days were best ${word}`);
      const taskId = await startSearch(alice, `${word} best days`);
      const status = await waitForStatus(alice, taskId);
      expect(status).to.include({ status: 'SUCCESS', result_count: 2 });
      expect(status.corrections).to.deep.equal([]);
      const hits = await readAll(alice, taskId);
      expect(hits.map((h) => [h.message_id, h.match])).to.deep.equal([
        [bag, 'exact'],
        [phrase, 'phrase'],
      ]);
    });

    it('keeps to the phrase as written when it has stop words: "one of the" is not a bag of words', async () => {
      const chat = await t.createChat(alice);
      const word = own();
      const phrase = await t.post(alice, chat, `${word} one of the best`);
      await t.post(alice, chat, `the one of late ${word}`);
      const hits = await search(alice, `${word} one of the`);
      expect(hits.map((h) => [h.message_id, h.match])).to.deep.equal([[phrase, 'phrase']]);
    });

    it('corrects a typo with a swap, and the status says what it searched instead', async () => {
      const chat = await t.createChat(alice);
      const word = own();
      const id = await t.post(alice, chat, `${word} the main benefit is that it is free`);
      await t.post(bob, othersChat, `${word} benefit in a chat alice is not in`);
      const taskId = await startSearch(alice, `${word} bneeflt`);
      const status = await waitForStatus(alice, taskId);
      expect(status.corrections).to.deep.equal([{ word: 'bneeflt', corrections: ['benefit'] }]);
      const hits = await readAll(alice, taskId);
      expect(hits.map((h) => [h.message_id, h.match])).to.deep.equal([[id, 'corrected']]);
    });

    it('finds a word inside an e-mail address, a host or a path', async () => {
      const chat = await t.createChat(alice);
      const word = own();
      const id = await t.post(alice, chat, `${word} write to tjimenez@site.gmu.edu`);
      const hits = await search(alice, `${word} site`);
      expect(hits.map((h) => [h.message_id, h.match])).to.deep.equal([[id, 'exact']]);
    });
  });

  describe('with AUTH_DISABLED=true', () => {
    let legacy: TestContext;
    before(async () => {
      legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
    });
    after(() => legacy.stop());

    it('needs ?user_id= (400), answers 404 user-not-found for an unknown one, and searches as that user', async () => {
      expectError(
        await legacy.api.POST('/v1/chats/search', { body: { message: 'legacy search' } }),
        400,
        'bad-parameters',
        /user_id/,
      );
      const unknown = await legacy.api.POST('/v1/chats/search', {
        params: { query: { user_id: randomUUID() } },
        body: { message: 'legacy search' },
      });
      expectError(unknown, 404, 'user-not-found');
      const created = await legacy.api.POST('/v1/chats', { body: { chat_name: 'legacy' } });
      const chat = created.data!.chat_id;
      const added = await legacy.api.POST('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chat } },
        body: { user_name: uniqueName('legacy') },
      });
      const userId = added.data!.user_id;
      await legacy.api.POST('/v1/chats/{chat_id}/messages', {
        params: { path: { chat_id: chat }, query: { user_id: userId } },
        body: { message: `${tag}legacy found` },
      });
      const task = await legacy.api.POST('/v1/chats/search', {
        params: { query: { user_id: userId } },
        body: { message: `${tag}legacy` },
      });
      expect(task.response.status).to.equal(201);
      const tasks = new SearchTaskStore(legacy.store, legacy.config.search);
      const until = Date.now() + 10_000;
      while ((await tasks.get(task.data!.task_id))?.status !== 'SUCCESS' && Date.now() < until)
        await sleep(50);
      const page = await legacy.api.GET('/v1/chats/search/{task_id}/messages', {
        params: { path: { task_id: task.data!.task_id }, query: { limit: 10 } },
      });
      expect(page.data!.messages.map((m) => m.text)).to.deep.equal([`${tag}legacy found`]);
    });
  });
});
