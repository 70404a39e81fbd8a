/**
 * The web client (web/, served at /) in a real browser: two people, each in a browser context of
 * their own, register, share a chat and see each other's messages arrive live over the event stream.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { projectRoot } from '@messenger/shared';
import { chromiumAvailability, describeBrowser, launchChromium } from '../../test/support/browser.ts';
import { SwitchableProxy } from './support/switchable-proxy.ts';
import { TestContext, uniqueName } from './support/test-context.ts';

/** Screenshots of the client's screens, kept by CI as artifacts. */
const SCREENSHOTS = path.join(projectRoot(), '.ci', 'screenshots');

const chromium = await chromiumAvailability();

describeBrowser('The web client in a browser (Chromium)', chromium, () => {
  let browser: Browser | undefined;
  let t: TestContext | undefined;
  const contexts: BrowserContext[] = [];
  before(async function () {
    this.timeout(120_000);
    // The client the API serves is the one built from web/: build it when its sources changed.
    execFileSync(process.execPath, ['scripts/build-web.mjs', '--if-stale'], {
      cwd: projectRoot(),
      stdio: 'inherit',
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await launchChromium();
    t = await TestContext.start();
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await t?.stop();
  });

  /** A person in a browser context of their own, registered through the client's form. */
  async function person(
    name: string,
    { origin = t!.baseUrl, viewport = { width: 1000, height: 700 } } = {},
  ): Promise<Page> {
    const context = await browser!.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    const response = await page.goto(origin + '/');
    expect(response?.status(), 'GET /').to.equal(200);
    await page.getByTestId('auth-user-name').fill(name);
    await page.getByTestId('auth-password').fill(`pw-${randomUUID()}`);
    await page.getByTestId('auth-register').click();
    await page.getByTestId('logout').waitFor();
    return page;
  }

  it('lets two people share a chat and see each other’s messages live, with unread counts', async function () {
    this.timeout(60_000);
    const aliceName = uniqueName('alice');
    const bobName = uniqueName('bob');
    const alice = await person(aliceName);
    const bob = await person(bobName);

    const chatName = uniqueName('web-chat');
    await alice.getByTestId('new-chat').click();
    await alice.getByTestId('new-chat-name').fill(chatName);
    await alice.getByTestId('new-chat-create').click();
    await alice.getByTestId('add-member-name').fill(bobName);
    await alice.getByTestId('add-member-submit').click();

    // Bob's list gains the chat without a reload: the member_added event over his stream.
    const bobsChat = bob.getByTestId('chat-item').filter({ hasText: chatName });
    await bobsChat.waitFor();
    const chatId = await bobsChat.getAttribute('data-chat-id');
    expect(chatId).to.be.a('string').and.not.equal('');

    // Alice writes while Bob is elsewhere: his unread count rises.
    await alice.getByTestId('composer').fill('hello Bob');
    await alice.getByTestId('composer').press('Enter');
    await alice.getByTestId('message-item').filter({ hasText: 'hello Bob' }).waitFor();
    await bobsChat.getByTestId('unread-count').filter({ hasText: '1' }).waitFor();

    // Bob opens the chat: the message is there, and reading it clears the count.
    await bobsChat.click();
    await bob.getByTestId('message-item').filter({ hasText: 'hello Bob' }).waitFor();
    await bobsChat.getByTestId('unread-count').waitFor({ state: 'detached' });

    // Shift+Enter is a new line, not a send; Enter sends; Alice sees the reply live.
    await bob.getByTestId('composer').fill('hi Alice');
    await bob.getByTestId('composer').press('Shift+Enter');
    await bob.getByTestId('composer').pressSequentially('how are you?');
    expect(await bob.getByTestId('message-item').count()).to.equal(1);
    await bob.getByTestId('send').click();
    const reply = alice.getByTestId('message-item').filter({ hasText: 'how are you?' });
    await reply.waitFor();
    expect(await reply.locator('.text').textContent()).to.equal('hi Alice\nhow are you?');

    // Each message shows once on each side, under the id the API gave it.
    for (const page of [alice, bob]) {
      const ids = await page
        .getByTestId('message-item')
        .evaluateAll((items) => items.map((item) => item.getAttribute('data-message-id')));
      expect(ids).to.have.length(2);
      expect(new Set(ids).size).to.equal(2);
    }
    expect(await t!.messageCount(chatId!)).to.equal(2);
    await alice.screenshot({ path: path.join(SCREENSHOTS, 'web-client-chat.png') });

    // A reload keeps the session; logging out returns to the login form.
    await bob.reload();
    await bob.getByTestId('chat-item').filter({ hasText: chatName }).waitFor();
    await bob.getByTestId('logout').click();
    await bob.getByTestId('auth-login').waitFor();
  });

  it('shows a banner while the API is unreachable, then a message sent meanwhile exactly once (phone-sized)', async function () {
    this.timeout(60_000);
    const proxy = await SwitchableProxy.start(t!.baseUrl);
    try {
      const alice = await t!.registerUser('alice');
      const bobName = uniqueName('bob');
      // A phone-sized screen, reaching the API through a proxy the test can take down.
      const bob = await person(bobName, { origin: proxy.origin, viewport: { width: 390, height: 844 } });
      const chatName = uniqueName('outage-chat');
      const created = await alice.api.POST('/v1/chats', { body: { chat_name: chatName } });
      const chatId = created.data!.chat_id;
      await alice.api.POST('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chatId } },
        body: { user_name: bobName },
      });
      const post = (message: string) =>
        alice.api.POST('/v1/chats/{chat_id}/messages', {
          params: { path: { chat_id: chatId } },
          body: { message },
        });

      await bob.getByTestId('chat-item').filter({ hasText: chatName }).click();
      await post('before the outage');
      await bob.getByTestId('message-item').filter({ hasText: 'before the outage' }).waitFor();
      const banner = bob.getByTestId('connection-banner');
      expect(await banner.count()).to.equal(0);

      proxy.down();
      await banner.waitFor();
      expect((await post('while Bob was away')).response.status).to.equal(201);
      proxy.up();

      await banner.waitFor({ state: 'detached' });
      await bob.getByTestId('message-item').filter({ hasText: 'while Bob was away' }).waitFor();
      await post('after the outage');
      await bob.getByTestId('message-item').filter({ hasText: 'after the outage' }).waitFor();
      const texts = await bob.getByTestId('message-item').locator('.text').allTextContents();
      expect(texts).to.deep.equal(['before the outage', 'while Bob was away', 'after the outage']);
      await bob.screenshot({ path: path.join(SCREENSHOTS, 'web-client-phone.png') });
    } finally {
      await proxy.close();
    }
  });

  it('shows the API’s detail when a login fails', async () => {
    const context = await browser!.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(t!.baseUrl + '/');
    await page.getByTestId('auth-user-name').fill(uniqueName('nobody'));
    await page.getByTestId('auth-password').fill('wrong-password');
    await page.getByTestId('auth-login').click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect((await alert.textContent())?.trim()).to.not.equal('');
  });
});
