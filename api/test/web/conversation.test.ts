/**
 * The web client (web/, served at /) in a real browser: two people, each in a browser context of
 * their own, talk in a group chat and a direct one, and see each other's changes arrive live.
 */
import { expect } from 'chai';
import { chromiumAvailability, describeBrowser } from '../../../test/support/browser.ts';
import { uniqueName } from '../support/test-context.ts';
import {
  addMember,
  createChat,
  screenshot,
  send,
  shownIds,
  shownTexts,
  webStage,
} from '../support/web-client.ts';

const chromium = await chromiumAvailability();

/** The smallest valid PNG (1×1), served for an image attachment so the browser never goes online. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

describeBrowser('The web client: conversations (Chromium)', chromium, () => {
  const stage = webStage();

  it('lets two people share a chat and see each other’s messages live, with unread counts rising and falling', async function () {
    this.timeout(60_000);
    const login = await stage.web.page();
    await login.goto(stage.t.baseUrl + '/');
    await login.getByTestId('auth-login').waitFor();
    await screenshot(login, 'web-client-login');

    const alice = await stage.web.person(stage.t.baseUrl, uniqueName('alice'));
    const bob = await stage.web.person(stage.t.baseUrl, uniqueName('bob'));
    const chatName = uniqueName('web-chat');
    const chatId = await createChat(alice.page, chatName);
    await addMember(alice.page, bob.name);

    // Bob's list gains the chat without a reload: the member_added event over his stream.
    const bobsChat = bob.page.getByTestId('chat-item').filter({ hasText: chatName });
    await bobsChat.waitFor();
    expect(await bobsChat.getAttribute('data-chat-id')).to.equal(chatId);

    // Alice writes while Bob is elsewhere: his unread count rises, one by one.
    await send(alice.page, 'hello Bob');
    await bobsChat.getByTestId('unread-count').filter({ hasText: /^1$/ }).waitFor();
    await send(alice.page, 'are you there?');
    await bobsChat.getByTestId('unread-count').filter({ hasText: /^2$/ }).waitFor();
    expect(await bobsChat.textContent()).to.contain('are you there?');
    await screenshot(bob.page, 'web-client-chat-list');

    // Bob opens the chat: the messages are there, and reading them clears the count.
    await bobsChat.click();
    await bob.page.getByTestId('message-item').filter({ hasText: 'are you there?' }).waitFor();
    await bobsChat.getByTestId('unread-count').waitFor({ state: 'detached' });

    // Shift+Enter is a new line, not a send; Enter sends; Alice sees the reply live.
    await bob.page.getByTestId('composer').fill('hi Alice');
    await bob.page.getByTestId('composer').press('Shift+Enter');
    await bob.page.getByTestId('composer').pressSequentially('how are you?');
    expect(await bob.page.getByTestId('message-item').count()).to.equal(2);
    const alicesRead = alice.page.waitForResponse((r) => r.url().endsWith(`/v1/chats/${chatId}/read`));
    await bob.page.getByTestId('send').click();
    const reply = alice.page.getByTestId('message-item').filter({ hasText: 'how are you?' });
    await reply.waitFor();
    expect(await reply.locator('.text').textContent()).to.equal('hi Alice\nhow are you?');
    // Alice has the chat open: the reply is read as it arrives (her read marker moves), so no count
    // stays for it.
    expect((await alicesRead).status()).to.equal(200);
    const alicesChat = alice.page.getByTestId('chat-item').filter({ hasText: chatName });
    await alicesChat.getByTestId('unread-count').waitFor({ state: 'detached' });

    // Each message shows once on each side, under the id the API gave it.
    for (const page of [alice.page, bob.page]) {
      await page.getByTestId('message-pending').waitFor({ state: 'detached' });
      const ids = await shownIds(page);
      expect(ids).to.have.length(3);
      expect(new Set(ids).size).to.equal(3);
    }
    expect(await stage.t.messageCount(chatId)).to.equal(3);
    await screenshot(alice.page, 'web-client-chat');

    // A reload keeps the session and the chat; logging out returns to the login form.
    await bob.page.reload();
    await bob.page.getByTestId('chat-item').filter({ hasText: chatName }).waitFor();
    await bob.page.getByTestId('logout').click();
    await bob.page.getByTestId('auth-login').waitFor();
    await bob.page.reload();
    await bob.page.getByTestId('auth-login').waitFor();
  });

  it('shows an edit, a delete and who is typing on the other side, live', async function () {
    this.timeout(60_000);
    const alice = await stage.web.person(stage.t.baseUrl, uniqueName('alice'));
    const bob = await stage.web.person(stage.t.baseUrl, uniqueName('bob'));
    const chatName = uniqueName('edits');
    await createChat(alice.page, chatName);
    await addMember(alice.page, bob.name);
    await bob.page.getByTestId('chat-item').filter({ hasText: chatName }).click();
    await bob.page.getByTestId('composer').waitFor();

    // Typing: Alice composes, Bob sees it; it is gone once her message arrives.
    const typing = bob.page.getByTestId('typing-indicator');
    await alice.page.getByTestId('composer').pressSequentially('see you at 10');
    await typing.filter({ hasText: `${alice.name} is typing` }).waitFor();
    await alice.page.getByTestId('composer').press('Enter');
    await bob.page.getByTestId('message-item').filter({ hasText: 'see you at 10' }).waitFor();
    expect((await typing.textContent())?.trim()).to.equal('');
    await send(alice.page, 'wrong chat, sorry');
    const onBob = (text: string) => bob.page.getByTestId('message-item').filter({ hasText: text });
    await onBob('wrong chat, sorry').waitFor();

    // Someone else's messages offer no edit or delete.
    expect(await onBob('see you at 10').getByTestId('message-edit').count()).to.equal(0);

    // Alice edits with the keyboard (Enter saves); Bob sees the new text, marked edited.
    const first = alice.page.getByTestId('message-item').filter({ hasText: 'see you at 10' });
    await first.getByTestId('message-edit').click();
    await alice.page.getByTestId('edit-input').fill('see you at 11');
    await alice.page.getByTestId('edit-input').press('Enter');
    await onBob('see you at 11').filter({ hasText: '(edited)' }).waitFor();
    expect(await onBob('see you at 10').count()).to.equal(0);

    // Escape cancels an edit: nothing changes.
    const edited = alice.page.getByTestId('message-item').filter({ hasText: 'see you at 11' });
    await edited.getByTestId('message-edit').click();
    await alice.page.getByTestId('edit-input').fill('never sent');
    await alice.page.getByTestId('edit-input').press('Escape');
    await alice.page.getByTestId('edit-input').waitFor({ state: 'detached' });
    expect(await alice.page.getByText('never sent').count()).to.equal(0);

    // Alice deletes the other message; it leaves Bob's screen too.
    await alice.page
      .getByTestId('message-item')
      .filter({ hasText: 'wrong chat, sorry' })
      .getByTestId('message-delete')
      .click();
    await onBob('wrong chat, sorry').waitFor({ state: 'detached' });
    await alice.page
      .getByTestId('message-item')
      .filter({ hasText: 'wrong chat, sorry' })
      .waitFor({ state: 'detached' });
    expect(await shownTexts(bob.page)).to.deep.equal(['see you at 11']);
    expect(await shownTexts(alice.page)).to.deep.equal(['see you at 11']);
  });

  it('keeps a send whose answer was lost pending, and its retry stores it once (same Idempotency-Key)', async function () {
    this.timeout(60_000);
    const alice = await stage.web.person(stage.t.baseUrl, uniqueName('alice'));
    const chatId = await createChat(alice.page, uniqueName('retry'));
    const keys: string[] = [];
    let lose = true;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    // The request reaches the API and is stored, but its answer never reaches the page.
    await alice.page.route(`**/v1/chats/${chatId}/messages`, async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      keys.push((await route.request().headerValue('idempotency-key')) ?? '');
      if (lose) await held;
      const answer = await route.fetch();
      expect(answer.status()).to.equal(201);
      if (lose) return route.abort('connectionreset');
      return route.fulfill({ response: answer });
    });
    await alice.page.getByTestId('composer').fill('only once, please');
    await alice.page.getByTestId('composer').press('Enter');
    // Until an answer comes, the message shows as pending, and the composer is free again.
    const pending = alice.page.getByTestId('message-pending');
    await pending.filter({ hasText: 'Sending…' }).waitFor();
    expect(await alice.page.getByTestId('composer').inputValue()).to.equal('');
    expect(await alice.page.getByTestId('message-item').count()).to.equal(0);
    release();
    await pending.getByTestId('retry').waitFor();
    expect(await pending.textContent()).to.contain('Not sent');

    lose = false;
    await pending.getByTestId('retry').click();
    await pending.waitFor({ state: 'detached' });
    expect(keys).to.have.length(2);
    expect(keys[0]).to.have.length.greaterThan(0);
    expect(keys[1]).to.equal(keys[0]);
    // Stored once, shown once (the stream's event and the retry's answer name the same message).
    expect(await stage.t.messageCount(chatId)).to.equal(1);
    await alice.page.waitForTimeout(300);
    expect(await shownTexts(alice.page)).to.deep.equal(['only once, please']);
  });

  it('shows an image attachment by its URL and a link by its title, and attaches both from the composer', async function () {
    this.timeout(60_000);
    const alice = await stage.t.registerUser('alice');
    const bob = await stage.web.person(stage.t.baseUrl, uniqueName('bob'));
    const chatId = await stage.t.createChat(alice, uniqueName('attachments'));
    await alice.api.POST('/v1/chats/{chat_id}/users', {
      params: { path: { chat_id: chatId } },
      body: { user_name: bob.name },
    });
    const image = 'https://images.example/cafe.png';
    // The page loads the image from its URL; here that URL answers from the test, not the internet.
    let imageRequested = false;
    await bob.page.route(image, (route) => {
      imageRequested = true;
      return route.fulfill({ contentType: 'image/png', body: PNG });
    });
    const posted = await alice.api.POST('/v1/chats/{chat_id}/messages', {
      params: { path: { chat_id: chatId } },
      body: {
        message: 'the place and the way',
        attachments: [
          { type: 'image', url: image, width: 640, height: 480 },
          { type: 'link', url: 'https://maps.example/route', title: 'Route to the café' },
        ],
      },
    });
    expect(posted.response.status).to.equal(201);

    await bob.page.getByTestId('chat-item').filter({ hasText: 'attachments' }).click();
    const item = bob.page.getByTestId('message-item').filter({ hasText: 'the place and the way' });
    await item.waitFor();
    const img = item.getByTestId('attachment-image');
    expect(await img.getAttribute('src')).to.equal(image);
    // Loaded and decoded: the 1×1 PNG the route answered with.
    await bob.page.waitForFunction(
      (el: { complete: boolean; naturalWidth: number }) => el.complete && el.naturalWidth === 1,
      await img.elementHandle(),
    );
    expect(imageRequested).to.equal(true);
    const link = item.getByTestId('attachment-link');
    expect(await link.textContent()).to.equal('Route to the café');
    expect(await link.getAttribute('href')).to.equal('https://maps.example/route');

    // Bob attaches from the composer: an image (its size learnt by loading it) and a titled link.
    await bob.page.getByTestId('attach-toggle').click();
    await bob.page.getByTestId('attach-url').fill(image);
    await bob.page.getByTestId('composer').fill('same place?');
    await bob.page.getByTestId('composer').press('Enter');
    await bob.page
      .getByTestId('message-item')
      .filter({ hasText: 'same place?' })
      .getByTestId('attachment-image')
      .waitFor();
    await bob.page.getByTestId('attach-toggle').click();
    await bob.page.getByTestId('attach-url').fill('https://maps.example/other');
    await bob.page.getByTestId('attach-title').fill('Another way');
    await bob.page.getByTestId('attach-url').press('Enter');
    await bob.page.getByTestId('attachment-link').filter({ hasText: 'Another way' }).waitFor();
    const history = await stage.t.history(alice, chatId);
    const stored = history.data!.messages.slice(1).map((m) => ({ text: m.text, attachments: m.attachments }));
    expect(stored).to.deep.equal([
      { text: 'same place?', attachments: [{ type: 'image', url: image, width: 1, height: 1 }] },
      { text: '', attachments: [{ type: 'link', url: 'https://maps.example/other', title: 'Another way' }] },
    ]);
  });

  it('lists a chat’s members and lets one leave: gone from their list, and from the others’ members', async function () {
    this.timeout(60_000);
    const alice = await stage.web.person(stage.t.baseUrl, uniqueName('alice'));
    const bob = await stage.web.person(stage.t.baseUrl, uniqueName('bob'));
    const chatName = uniqueName('members');
    const chatId = await createChat(alice.page, chatName);
    await addMember(alice.page, bob.name);

    // Adding an unknown name shows the API's detail.
    await alice.page.getByTestId('add-member-name').fill(uniqueName('nobody'));
    await alice.page.getByTestId('add-member-submit').click();
    const refusal = alice.page.locator('.members [role="alert"]');
    await refusal.waitFor();
    expect((await refusal.textContent())?.trim()).to.not.equal('');

    const bobsChat = bob.page.getByTestId('chat-item').filter({ hasText: chatName });
    await bobsChat.click();
    await bob.page.getByTestId('members-toggle').click();
    const bobsMembers = bob.page.getByTestId('member-item');
    await bobsMembers.filter({ hasText: alice.name }).filter({ hasText: 'owner' }).waitFor();
    expect(await bobsMembers.count()).to.equal(2);
    await screenshot(bob.page, 'web-client-members');

    await bob.page.getByTestId('leave-chat').click();
    await bobsChat.waitFor({ state: 'detached' });
    expect(await bob.page.getByTestId('message-list').count()).to.equal(0);
    await alice.page.getByTestId('member-item').filter({ hasText: bob.name }).waitFor({ state: 'detached' });
    expect((await stage.t.membersOf(chatId)).length).to.equal(1);
  });

  it('starts a direct conversation by user name, which both then find by name', async function () {
    this.timeout(60_000);
    const alice = await stage.web.person(stage.t.baseUrl, uniqueName('alice'));
    const bob = await stage.web.person(stage.t.baseUrl, uniqueName('bob'));

    // An unknown name: the API's detail, no conversation.
    await alice.page.getByTestId('direct-user-name').fill(uniqueName('nobody'));
    await alice.page.getByTestId('direct-open').click();
    await alice.page.locator('.chats [role="alert"]').waitFor();
    expect(await alice.page.getByTestId('composer').count()).to.equal(0);

    // Keyboard alone: type the name, Enter opens the (empty) conversation, its composer focused.
    await alice.page.getByTestId('direct-user-name').fill(bob.name);
    await alice.page.getByTestId('direct-user-name').press('Enter');
    await alice.page.getByTestId('composer').waitFor();
    await alice.page.keyboard.type('just between us');
    await alice.page.keyboard.press('Enter');

    // The first message made the chat: it opens on Alice's side and arrives live on Bob's.
    const alicesDirect = alice.page.getByTestId('chat-item').filter({ hasText: bob.name });
    await alicesDirect.waitFor();
    await alice.page.getByTestId('message-item').filter({ hasText: 'just between us' }).waitFor();
    const chatId = await alicesDirect.getAttribute('data-chat-id');
    const bobsDirect = bob.page.getByTestId('chat-item').filter({ hasText: alice.name });
    await bobsDirect.getByTestId('unread-count').filter({ hasText: /^1$/ }).waitFor();
    expect(await bobsDirect.getAttribute('data-chat-id')).to.equal(chatId);

    // Bob opens it by Alice's name: the same chat, with her message; his reply reaches her.
    await bob.page.getByTestId('direct-user-name').fill(alice.name);
    await bob.page.getByTestId('direct-open').click();
    await bob.page.getByTestId('message-item').filter({ hasText: 'just between us' }).waitFor();
    await send(bob.page, 'agreed');
    await alice.page.getByTestId('message-item').filter({ hasText: 'agreed' }).waitFor();
    expect(await stage.t.messageCount(chatId!)).to.equal(2);
    // Direct chats have two members and nothing to add.
    await bob.page.getByTestId('members-toggle').click();
    await bob.page.getByTestId('member-item').nth(1).waitFor();
    expect(await bob.page.getByTestId('add-member-name').count()).to.equal(0);
    // Escape closes the members panel and gives the focus back to its button.
    await bob.page.getByTestId('leave-chat').focus();
    await bob.page.keyboard.press('Escape');
    await bob.page.getByTestId('member-list').waitFor({ state: 'detached' });
    expect(await bob.page.getByTestId('members-toggle').evaluate((el) => el.matches(':focus'))).to.equal(
      true,
    );
  });

  it('returns to the login form when the session ends elsewhere (logout-all)', async function () {
    this.timeout(60_000);
    const bob = await stage.web.person(stage.t.baseUrl, uniqueName('bob'));
    await bob.page.getByTestId('chat-list').waitFor({ state: 'attached' });
    // Bob, from another device, ends all his sessions: the page's stream ends, its next call is
    // refused, and the page forgets the session.
    const login = await stage.t.api.POST('/v1/auth/login', {
      body: { user_name: bob.name, password: bob.password },
    });
    const other = stage.t.client(login.data!.session_id);
    expect((await other.POST('/v1/auth/logout-all')).response.status).to.equal(200);
    await bob.page.getByTestId('auth-login').waitFor({ timeout: 15_000 });
    await bob.page.reload();
    await bob.page.getByTestId('auth-login').waitFor();
    // Logging in again works from the form.
    await bob.page.getByTestId('auth-user-name').fill(bob.name);
    await bob.page.getByTestId('auth-password').fill(bob.password);
    await bob.page.getByTestId('auth-password').press('Enter');
    await bob.page.getByTestId('logout').waitFor();
  });

  it('shows the API’s detail when a login fails', async () => {
    const page = await stage.web.page();
    await page.goto(stage.t.baseUrl + '/');
    await page.getByTestId('auth-user-name').fill(uniqueName('nobody'));
    await page.getByTestId('auth-password').fill('wrong-password');
    await page.getByTestId('auth-login').click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect((await alert.textContent())?.trim()).to.not.equal('');
  });
});
