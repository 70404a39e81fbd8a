/**
 * The web client with a long history: paging upwards as the person scrolls, the read marker
 * following what they have seen, and a search whose result opens its chat at that message.
 */
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { chromiumAvailability, describeBrowser } from '../../../test/support/browser.ts';
import { uniqueName } from '../support/test-context.ts';
import { screenshot, shownIds, shownTexts, webStage } from '../support/web-client.ts';

const chromium = await chromiumAvailability();

/** `message 001` … : sortable, so "in order" is a string comparison. */
const label = (n: number) => `message ${String(n).padStart(3, '0')}`;

describeBrowser('The web client: history and search (Chromium)', chromium, () => {
  const stage = webStage();

  /** A chat of Alice's with `count` messages (texts from `text(n)`), and Bob (in the browser) in it. */
  async function longChat(count: number, bobName: string, text: (n: number) => string = label) {
    const alice = await stage.t.registerUser('alice');
    const chatName = uniqueName('long');
    const chatId = await stage.t.createChat(alice, chatName);
    await alice.api.POST('/v1/chats/{chat_id}/users', {
      params: { path: { chat_id: chatId } },
      body: { user_name: bobName },
    });
    for (let first = 1; first <= count; first += 100) {
      const messages = [];
      for (let n = first; n < Math.min(first + 100, count + 1); n++) messages.push({ message: text(n) });
      const { response } = await alice.api.POST('/v1/chats/{chat_id}/messages/batch', {
        params: { path: { chat_id: chatId } },
        body: { messages },
      });
      expect(response.status).to.equal(201);
    }
    return { alice, chatId, chatName };
  }

  /** Bob's unread count for the chat as the page shows it (0 when none shows). */
  async function unread(page: Page, chatId: string): Promise<number> {
    const badge = page.locator(
      `[data-testid="chat-item"][data-chat-id="${chatId}"] [data-testid="unread-count"]`,
    );
    return (await badge.count()) === 0 ? 0 : Number(await badge.textContent());
  }

  it('pages older messages in as the person scrolls up, in order and each once, and marks them read', async function () {
    this.timeout(90_000);
    const bob = await stage.web.person(stage.t.baseUrl, uniqueName('bob'));
    const { chatId } = await longChat(130, bob.name);
    const item = bob.page.locator(`[data-testid="chat-item"][data-chat-id="${chatId}"]`);
    await item.getByTestId('unread-count').filter({ hasText: /^130$/ }).waitFor();

    // Opened at the newest: one page, not the whole history; what is on screen is read.
    await item.click();
    await bob.page
      .getByTestId('message-item')
      .filter({ hasText: label(130) })
      .waitFor();
    await item.getByTestId('unread-count').waitFor({ state: 'detached' });
    const firstPage = await shownTexts(bob.page);
    expect(firstPage.length).to.be.within(1, 100);
    expect(firstPage.at(-1)).to.equal(label(130));

    // Keyboard alone: the list takes focus; Home scrolls to its top, which loads the page before.
    const list = bob.page.getByTestId('message-list');
    await list.focus();
    for (let i = 0; i < 10 && (await shownTexts(bob.page))[0] !== label(1); i++) {
      const before = (await shownTexts(bob.page)).length;
      await bob.page.keyboard.press('Home');
      // (A string: it runs in the page, and this project's tests are typed without the DOM.)
      await bob.page.waitForFunction(
        `document.querySelectorAll('[data-testid="message-item"]').length > ${before}`,
        undefined,
        { timeout: 5000 },
      );
    }
    const texts = await shownTexts(bob.page);
    expect(texts).to.deep.equal(Array.from({ length: 130 }, (_, i) => label(i + 1)));
    expect(new Set(await shownIds(bob.page)).size).to.equal(130);
    // Scrolled to the top, the oldest message is on screen (the page kept its place while loading).
    expect(await bob.page.getByTestId('message-item').first().isVisible()).to.equal(true);
    expect(await unread(bob.page, chatId)).to.equal(0);
  });

  it('finds a message by search (newest first, matches marked) and opens its chat at it; reading on clears the count', async function () {
    this.timeout(90_000);
    const bob = await stage.web.person(stage.t.baseUrl, uniqueName('bob'));
    const needle = `zebra${Math.floor(Math.random() * 1e6)}`;
    const text = (n: number) =>
      n === 40 || n === 120 ? `${label(n)} about the ${needle} crossing` : label(n);
    const { chatId, chatName } = await longChat(130, bob.name, text);
    const item = bob.page.locator(`[data-testid="chat-item"][data-chat-id="${chatId}"]`);
    await item.getByTestId('unread-count').filter({ hasText: /^130$/ }).waitFor();

    // Keyboard alone: type the phrase, Enter searches.
    await bob.page.getByTestId('search-input').fill(needle);
    await bob.page.getByTestId('search-input').press('Enter');
    const results = bob.page.getByTestId('search-result');
    await results.nth(1).waitFor({ timeout: 20_000 });
    expect(await results.count()).to.equal(2);
    expect(await results.nth(0).textContent()).to.contain(label(120));
    expect(await results.nth(1).textContent()).to.contain(label(40));
    expect(await results.nth(0).textContent()).to.contain(chatName);
    expect(await results.nth(1).locator('mark').allTextContents()).to.deep.equal([needle]);
    await screenshot(bob.page, 'web-client-search');

    // Choosing the older result opens the chat at that message, scrolled to it and marked.
    const target = await results.nth(1).getAttribute('data-message-id');
    await results.nth(1).focus();
    await bob.page.keyboard.press('Enter');
    const focused = bob.page.locator('[data-testid="message-item"][data-focused="true"]');
    await focused.waitFor();
    expect(await focused.getAttribute('data-message-id')).to.equal(target);
    expect(await focused.textContent()).to.contain(label(40));
    expect(await results.count()).to.equal(0);
    const inView = await focused.evaluate((el) => {
      const list = el.closest('[data-testid="message-list"]')!.getBoundingClientRect();
      const box = el.getBoundingClientRect();
      return box.top >= list.top && box.bottom <= list.bottom;
    });
    expect(inView).to.equal(true);

    // The read marker moved to what is on screen around it: fewer unread, not none.
    const badge = item.getByTestId('unread-count');
    for (let tries = 0; tries < 50 && (await unread(bob.page, chatId)) >= 130; tries++) {
      await bob.page.waitForTimeout(100);
    }
    await badge.waitFor();
    const left = await unread(bob.page, chatId);
    expect(left).to.be.within(60, 129);

    // Reading on down to the newest clears it.
    await bob.page.getByTestId('message-list').focus();
    await bob.page.keyboard.press('End');
    await item.getByTestId('unread-count').waitFor({ state: 'detached' });
    expect(await unread(bob.page, chatId)).to.equal(0);
  });

  it('says why a search cannot run (the API’s detail)', async () => {
    const bob = await stage.web.person(stage.t.baseUrl, uniqueName('bob'));
    await bob.page.getByTestId('search-input').fill('ab');
    await bob.page.getByTestId('search-input').press('Enter');
    const alert = bob.page.locator('.search-results [role="alert"]');
    await alert.waitFor();
    expect((await alert.textContent())?.trim()).to.not.equal('');
    // Escape closes the results and leaves the focus in the search box.
    await bob.page.keyboard.press('Escape');
    await alert.waitFor({ state: 'detached' });
    expect(await bob.page.getByTestId('search-input').evaluate((el) => el.matches(':focus'))).to.equal(true);
  });
});
