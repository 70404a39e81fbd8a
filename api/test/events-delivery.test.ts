import { expect } from 'chai';
import { EventLog } from '../src/events/event-log.ts';
import { EventClient } from './support/event-client.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

describe('the event stream: order, direct chats, health, AUTH_DISABLED', function () {
  this.timeout(60_000);
  let t: TestContext;
  before(async () => {
    t = await TestContext.start();
  });
  after(() => t.stop());

  it('delivers concurrent posts of one chat in the order of their seqs (the history’s order)', async () => {
    const [alice, bob] = await t.registerUsers('alice', 'bob');
    const chatId = await t.chatWith(alice, bob);
    const stream = await EventClient.open(t.baseUrl, { token: bob.token });
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => t.post(alice, chatId, `concurrent ${i}`)));
      await stream.until(() => stream.ofType('message.created').length >= 20, 'twenty messages');
      const received = stream
        .ofType('message.created')
        .map((e) => (e.data.message as { message_id: string }).message_id);
      const history = await t.history(bob, chatId);
      expect(received).to.deep.equal(history.data!.messages.map((m) => m.message_id));
    } finally {
      await stream.close();
    }
  });

  it('tells both people of a new direct chat, then its first message', async () => {
    const [alice, bob] = await t.registerUsers('alice', 'bob');
    const stream = await EventClient.open(t.baseUrl, { token: bob.token });
    try {
      const { data } = await alice.api.POST('/v1/direct/{user_name}/messages', {
        params: { path: { user_name: bob.userName } },
        body: { message: 'hi bob' },
      });
      const created = await stream.next('chat.created');
      expect(created.data.chat).to.deep.include({ chat_id: data!.chat_id, kind: 'direct', unread_count: 0 });
      const message = await stream.next('message.created');
      expect(Number(message.id)).to.be.above(Number(created.id));
    } finally {
      await stream.close();
    }
  });

  it('counts connected streams in /check', async () => {
    const [user] = await t.registerUsers('counted');
    const stream = await EventClient.open(t.baseUrl, { token: user.token });
    try {
      await stream.until(() => stream.retry !== undefined, 'the stream');
      const check = await t.api.GET('/check');
      expect(check.data!.streams!.connected).to.be.at.least(1);
    } finally {
      await stream.close();
    }
  });

  it('names the subscriber with ?user_id= when AUTH_DISABLED=true', async () => {
    const legacy = await TestContext.start({ AUTH_DISABLED: 'true' });
    try {
      const [alice, bob] = await legacy.registerUsers('alice', 'bob');
      const as = (user: TestUser) => ({ query: { user_id: user.userId } });
      const created = await legacy.api.POST('/v1/chats', {
        params: as(alice),
        body: { chat_name: 'old api' },
      });
      const chatId = created.data!.chat_id;
      await legacy.api.POST('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chatId }, ...as(alice) },
        body: { user_name: bob.userName },
      });
      const stream = await EventClient.open(legacy.baseUrl, { userId: bob.userId });
      try {
        await legacy.api.POST('/v1/chats/{chat_id}/messages', {
          params: { path: { chat_id: chatId }, ...as(alice) },
          body: { message: 'trusted' },
        });
        const created = await stream.next('message.created', (d) => d.chat_id === chatId);
        expect((created.data.message as { text: string }).text).to.equal('trusted');
      } finally {
        await stream.close();
      }
      const nobody = await fetch(new URL('/v1/events', legacy.baseUrl));
      expect(nobody.status).to.equal(400);
    } finally {
      await legacy.stop();
    }
  });
});

describe('the event stream’s limits in time', function () {
  this.timeout(60_000);

  it('answers a cursor older than the events kept with resync cursor-too-old, then goes on live', async () => {
    const t = await TestContext.start();
    try {
      const [alice, bob] = await t.registerUsers('alice', 'bob');
      const chatId = await t.chatWith(alice, bob);
      const first = await EventClient.open(t.baseUrl, { token: bob.token });
      await t.post(alice, chatId, 'old');
      await first.next('message.created');
      const cursor = first.lastEventId!;
      await first.close();
      await t.post(alice, chatId, 'missed, then deleted');
      await t.post(alice, chatId, 'newest');
      // Retention, run early: everything but the newest event goes, one the cursor missed with it.
      expect(await new EventLog(t.database.db).deleteOlderThan(new Date(Date.now() + 60_000))).to.be.above(0);
      const second = await EventClient.open(t.baseUrl, { token: bob.token, lastEventId: cursor });
      try {
        const resync = await second.next('resync');
        expect(resync.data).to.deep.equal({ reason: 'cursor-too-old' });
        await t.post(alice, chatId, 'live');
        const live = await second.next('message.created');
        expect((live.data.message as { text: string }).text).to.equal('live');
        expect(Number(live.id)).to.be.above(Number(resync.id));
      } finally {
        await second.close();
      }
    } finally {
      await t.stop();
    }
  });

  it('ends a stream when its session expires', async () => {
    const t = await TestContext.start({ SESSION_TTL_SECONDS: '2' });
    try {
      const [user] = await t.registerUsers('expiring');
      const stream = await EventClient.open(t.baseUrl, { token: user.token });
      expect(stream.response.status).to.equal(200);
      const started = Date.now();
      await Promise.race([
        stream.done,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('the stream outlived its session')), 8000),
        ),
      ]);
      expect(Date.now() - started).to.be.below(4_000);
    } finally {
      await t.stop();
    }
  });
});
