/**
 * What the browser tests of the web client (api/test/web/, api/test/web-client.test.ts) share: the
 * client built from web/, Chromium, and people who register through the client's own form.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { projectRoot } from '@messenger/shared';
import { launchChromium } from '../../../test/support/browser.ts';
import { TestContext } from './test-context.ts';

/** Screenshots of the client's screens, kept by CI as artifacts. */
export const SCREENSHOTS = path.join(projectRoot(), '.ci', 'screenshots');

export const DESKTOP = { width: 1000, height: 700 };
export const PHONE = { width: 390, height: 844 };

/** Builds the client the API serves when its sources changed since the last build. */
export function buildWebClient(): void {
  execFileSync(process.execPath, ['scripts/build-web.mjs', '--if-stale'], {
    cwd: projectRoot(),
    stdio: 'inherit',
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
}

/**
 * The stage of a suite that drives the client in one browser against one API: registers the
 * before and after hooks that build the client, launch the browser and start the API, and answers
 * an object to read them from inside the tests.
 */
export function webStage(): { readonly web: WebBrowser; readonly t: TestContext } {
  let web: WebBrowser | undefined;
  let t: TestContext | undefined;
  before(async function () {
    this.timeout(120_000);
    buildWebClient();
    web = await WebBrowser.launch();
    t = await TestContext.start();
  });
  after(async () => {
    await web?.close();
    await t?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the web stage has not started (its before hook failed)');
    return value;
  };
  return {
    get web() {
      return started(web);
    },
    get t() {
      return started(t);
    },
  };
}

/** A browser for a suite, and a context of its own for each person (closed together). */
export class WebBrowser {
  private readonly contexts: BrowserContext[] = [];

  private constructor(readonly browser: Browser) {}

  static async launch(): Promise<WebBrowser> {
    return new WebBrowser(await launchChromium());
  }

  /** A fresh page in a context of its own (its own localStorage: its own session). */
  async page(viewport = DESKTOP): Promise<Page> {
    const context = await this.browser.newContext({ viewport });
    this.contexts.push(context);
    return context.newPage();
  }

  /** A person who opens the client at `origin` and registers through its form. */
  async person(
    origin: string,
    name: string,
    viewport = DESKTOP,
  ): Promise<{ page: Page; name: string; password: string }> {
    const page = await this.page(viewport);
    const response = await page.goto(origin + '/');
    expect(response?.status(), 'GET /').to.equal(200);
    const password = `pw-${randomUUID()}`;
    await page.getByTestId('auth-user-name').fill(name);
    await page.getByTestId('auth-password').fill(password);
    await page.getByTestId('auth-register').click();
    await page.getByTestId('me').filter({ hasText: name }).waitFor({ state: 'attached' });
    return { page, name, password };
  }

  async close(): Promise<void> {
    for (const context of this.contexts.splice(0)) await context.close();
    await this.browser.close();
  }
}

/** Creates a group chat through the client's form; answers its id. */
export async function createChat(page: Page, chatName: string): Promise<string> {
  await page.getByTestId('new-chat').click();
  await page.getByTestId('new-chat-name').fill(chatName);
  await page.getByTestId('new-chat-create').click();
  const item = page.getByTestId('chat-item').filter({ hasText: chatName });
  await item.waitFor();
  const chatId = await item.getAttribute('data-chat-id');
  expect(chatId).to.be.a('string').and.not.equal('');
  return chatId!;
}

/** Adds a member by name in the open chat's members panel (opened when closed). */
export async function addMember(page: Page, userName: string): Promise<void> {
  const input = page.getByTestId('add-member-name');
  if (!(await input.isVisible())) await page.getByTestId('members-toggle').click();
  await input.fill(userName);
  await page.getByTestId('add-member-submit').click();
  await page.getByTestId('member-item').filter({ hasText: userName }).waitFor();
}

/** Sends a message from the composer with Enter and waits for it to show as sent. */
export async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('composer').press('Enter');
  await page.getByTestId('message-item').filter({ hasText: text }).waitFor();
}

/** The ids of the messages the page shows, in order. */
export function shownIds(page: Page): Promise<Array<string | null>> {
  return page
    .getByTestId('message-item')
    .evaluateAll((items) => items.map((item) => item.getAttribute('data-message-id')));
}

/** The texts of the messages the page shows, in order. */
export function shownTexts(page: Page): Promise<string[]> {
  return page.getByTestId('message-item').locator('.text').allTextContents();
}

/** Saves a screenshot of the page under .ci/screenshots/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}
