/**
 * The web client while the API it talks to restarts: a real stop of the app instance behind the page
 * and a new one on the same port, as a deploy does. Bob, on a phone-sized screen, sees a banner, then
 * the page recovers by itself, and what Alice (on another instance) wrote meanwhile shows exactly once.
 */
import { expect } from 'chai';
import { chromiumAvailability, describeBrowser } from '../../../test/support/browser.ts';
import { SwitchableProxy } from '../support/switchable-proxy.ts';
import { TestContext, uniqueName } from '../support/test-context.ts';
import {
  addMember,
  buildWebClient,
  createChat,
  PHONE,
  screenshot,
  send,
  shownIds,
  shownTexts,
  webStage,
  WebBrowser,
} from '../support/web-client.ts';

const chromium = await chromiumAvailability();

describeBrowser('The web client while its API restarts (Chromium)', chromium, () => {
  let web: WebBrowser | undefined;
  /** The instance behind Bob's page: stopped and started again during the test. */
  let bobs: TestContext | undefined;
  /** Another instance of the same service, behind Alice's page. */
  let alices: TestContext | undefined;
  before(async function () {
    this.timeout(120_000);
    buildWebClient();
    web = await WebBrowser.launch();
    bobs = await TestContext.start();
    alices = await TestContext.start();
  });
  after(async () => {
    await web?.close();
    await bobs?.stop();
    await alices?.stop();
  });

  it('shows a banner, recovers by itself, and shows a message sent meanwhile exactly once (phone-sized)', async function () {
    this.timeout(90_000);
    const origin = bobs!.baseUrl;
    const port = new URL(origin).port;
    const alice = await web!.person(alices!.baseUrl, uniqueName('alice'));
    const bob = await web!.person(origin, uniqueName('bob'), PHONE);
    const chatName = uniqueName('restart');
    const chatId = await createChat(alice.page, chatName);
    await addMember(alice.page, bob.name);

    await bob.page.getByTestId('chat-item').filter({ hasText: chatName }).click();
    await send(alice.page, 'before the restart');
    await bob.page.getByTestId('message-item').filter({ hasText: 'before the restart' }).waitFor();
    const banner = bob.page.getByTestId('connection-banner');
    expect(await banner.count()).to.equal(0);
    await screenshot(bob.page, 'web-client-phone');

    // The API instance behind Bob's page stops (its streams end, its port closes)...
    await bobs!.stop();
    bobs = undefined;
    await banner.waitFor();
    await screenshot(bob.page, 'web-client-reconnecting');

    // ...Alice, on another instance, writes meanwhile...
    await send(alice.page, 'while the API was down');

    // ...and a new instance starts on the same port.
    bobs = await TestContext.start({ PORT: port });
    expect(bobs.baseUrl).to.equal(origin);
    await banner.waitFor({ state: 'detached', timeout: 15_000 });
    await bob.page.getByTestId('message-item').filter({ hasText: 'while the API was down' }).waitFor();
    await send(alice.page, 'after the restart');
    await bob.page.getByTestId('message-item').filter({ hasText: 'after the restart' }).waitFor();

    expect(await shownTexts(bob.page)).to.deep.equal([
      'before the restart',
      'while the API was down',
      'after the restart',
    ]);
    expect(new Set(await shownIds(bob.page)).size).to.equal(3);
    expect(await bobs.messageCount(chatId)).to.equal(3);
    // Nothing is left of the outage: no error anywhere, the chat list is current, and what Bob has
    // on screen is read.
    expect(await bob.page.getByRole('alert').count()).to.equal(0);
    const last = bob.page.getByTestId('chat-item').filter({ hasText: chatName });
    await last.filter({ hasText: 'after the restart' }).waitFor();
    await last.getByTestId('unread-count').waitFor({ state: 'detached' });
  });
});

describeBrowser('The web client after a resync (Chromium)', chromium, () => {
  const stage = webStage();

  it('reloads the open chat and the list when the stream cannot replay what it missed', async function () {
    this.timeout(90_000);
    const proxy = await SwitchableProxy.start(stage.t.baseUrl);
    try {
      const alice = await stage.t.registerUser('alice');
      const bob = await stage.web.person(proxy.origin, uniqueName('bob'));
      const chatName = uniqueName('resync');
      const chatId = await stage.t.createChat(alice, chatName);
      await alice.api.POST('/v1/chats/{chat_id}/users', {
        params: { path: { chat_id: chatId } },
        body: { user_name: bob.name },
      });
      await bob.page.getByTestId('chat-item').filter({ hasText: chatName }).click();
      await stage.t.post(alice, chatId, 'before the gap');
      await bob.page.getByTestId('message-item').filter({ hasText: 'before the gap' }).waitFor();

      // The reconnect presents a cursor the server cannot resume from (as after the event log's
      // retention passed it): it answers `resync`, and only a reload can show what came meanwhile.
      const resumedWith: string[] = [];
      await bob.page.route('**/v1/events?*', (route) => {
        const url = new URL(route.request().url());
        if (!url.searchParams.has('last_event_id')) return route.fallback();
        resumedWith.push(url.searchParams.get('last_event_id')!);
        url.searchParams.set('last_event_id', 'not-a-cursor-the-server-knows');
        return route.continue({ url: url.toString() });
      });
      const banner = bob.page.getByTestId('connection-banner');
      proxy.down();
      await banner.waitFor();
      await stage.t.post(alice, chatId, 'during the gap');
      proxy.up();
      await banner.waitFor({ state: 'detached', timeout: 15_000 });

      await bob.page.getByTestId('message-item').filter({ hasText: 'during the gap' }).waitFor();
      expect(resumedWith.length).to.be.greaterThan(0);
      await stage.t.post(alice, chatId, 'after the gap');
      await bob.page.getByTestId('message-item').filter({ hasText: 'after the gap' }).waitFor();
      expect(await shownTexts(bob.page)).to.deep.equal(['before the gap', 'during the gap', 'after the gap']);
      expect(new Set(await shownIds(bob.page)).size).to.equal(3);
      // The list follows a moment later (it is read again after each burst of events).
      await bob.page
        .getByTestId('chat-item')
        .filter({ hasText: chatName })
        .filter({ hasText: 'after the gap' })
        .waitFor();
    } finally {
      await proxy.close();
    }
  });
});
