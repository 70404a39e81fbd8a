import { expect } from 'chai';
import { expectError } from './support/expect-error.ts';
import { TestContext, type TestUser } from './support/test-context.ts';

const image = { type: 'image', url: 'https://example.com/a.jpg', width: 640, height: 480 };
const video = { type: 'video', url: 'https://www.youtube.com/watch?v=x', source: 'youtube' };
const link = { type: 'link', url: 'http://example.com/page', title: 'A page' };

describe('attachments', () => {
  let t: TestContext;
  let alice: TestUser;
  let stranger: TestUser;
  let chatId: string;
  before(async () => {
    t = await TestContext.start();
    alice = await t.registerUser('alice');
    stranger = await t.registerUser('stranger');
    chatId = await t.createChat(alice);
  });
  after(() => t.stop());

  const post = (user: TestUser | undefined, body: unknown, chat_id = chatId) =>
    (user?.api ?? t.api).POST('/v1/chats/{chat_id}/messages', {
      params: { path: { chat_id } },
      body: body as never,
    });
  const count = (chat: string) => t.messageCount(chat);

  it('answers 401 auth-failed without a session', async () => {
    expectError(await post(undefined, { attachments: [image] }), 401, 'auth-failed');
  });

  it('answers 400 bad-parameters naming the field of an invalid attachment, and stores nothing', async () => {
    const chat = await t.createChat(alice);
    const cases: Array<[unknown, RegExp]> = [
      [{ ...image, url: 'ftp://example.com/a.jpg' }, /attachments\.0\.url.*http/],
      [{ ...image, url: 'javascript:alert(1)' }, /attachments\.0\.url/],
      [{ ...image, width: 0 }, /attachments\.0\.width/],
      [{ ...image, height: 1.5 }, /attachments\.0\.height/],
      [{ type: 'image', url: image.url, width: 1 }, /attachments\.0\.height" is required/],
      [{ ...video, source: 'dailymotion' }, /attachments\.0\.source.*youtube, vimeo, upload/],
      [{ type: 'video', url: video.url }, /attachments\.0\.source" is required/],
      [{ ...link, title: 5 }, /attachments\.0\.title/],
      [{ url: 'https://example.com' }, /attachments\.0\.type" is required/],
      [{ type: 'gif', url: 'https://example.com' }, /attachments\.0.*type/],
      ['https://example.com', /attachments\.0/],
    ];
    for (const [attachment, detail] of cases) {
      expectError(await post(alice, { attachments: [attachment] }, chat), 400, 'bad-parameters', detail);
    }
    expectError(
      await post(alice, { attachments: Array.from({ length: 11 }, () => link) }, chat),
      400,
      'bad-parameters',
      /attachments.*10/,
    );
    expect(await count(chat)).to.equal(0);
  });

  it('answers 400 bad-parameters for a message with neither text nor attachments', async () => {
    for (const body of [{}, { attachments: [] }, { message: '' }, { message: '', attachments: [] }]) {
      expectError(await post(alice, body), 400, 'bad-parameters', /message.*attachment/);
    }
  });

  it('answers 403 forbidden to a stranger', async () => {
    expectError(await post(stranger, { attachments: [image] }), 403, 'forbidden');
  });

  it('stores attachments alone or with text (up to 10) and returns them in history, in order', async () => {
    const chat = await t.createChat(alice);
    const only = await post(alice, { attachments: [image] }, chat);
    const both = await post(alice, { message: 'look', attachments: [video, link, image] }, chat);
    const ten = await post(
      alice,
      { message: 'ten', attachments: Array.from({ length: 10 }, () => link) },
      chat,
    );
    const plain = await post(alice, { message: 'plain' }, chat);
    for (const r of [only, both, ten, plain]) expect(r.response.status).to.equal(201);

    const { data } = await t.history(alice, chat, { limit: 10 });
    expect(data!.messages.map((m) => [m.text, m.attachments])).to.deep.equal([
      ['', [image]],
      ['look', [video, link, image]],
      ['ten', Array.from({ length: 10 }, () => link)],
      ['plain', []],
    ]);
    const row = await t.database.db
      .selectFrom('messages')
      .select(['text', 'attachments'])
      .where('id', '=', both.data!.message_id)
      .executeTakeFirstOrThrow();
    expect(row).to.deep.equal({ text: 'look', attachments: [video, link, image] });
  });

  it('takes "message": "" beside attachments as an attachment-only message, as many clients send it', async () => {
    const chat = await t.createChat(alice);
    const res = await post(alice, { message: '', attachments: [link] }, chat);
    expect(res.response.status).to.equal(201);
    const row = await t.database.db
      .selectFrom('messages')
      .select(['text', 'attachments'])
      .where('id', '=', res.data!.message_id)
      .executeTakeFirstOrThrow();
    expect(row).to.deep.equal({ text: '', attachments: [link] });
    expect(await count(chat)).to.equal(1);
  });

  it('keeps only the fields of each type, not extra ones a client sends', async () => {
    const chat = await t.createChat(alice);
    const { data } = await post(alice, { attachments: [{ ...link, secret: 'x' }] }, chat);
    const row = await t.database.db
      .selectFrom('messages')
      .select('attachments')
      .where('id', '=', data!.message_id)
      .executeTakeFirstOrThrow();
    expect(row.attachments).to.deep.equal([link]);
  });
});
