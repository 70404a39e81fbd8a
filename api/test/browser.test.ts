/**
 * CORS and Swagger UI in a real browser (headless Chromium): what a fetch with an Origin header
 * cannot show, the browser's own preflights and its refusal of an origin that is not allowed.
 */
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumAvailability, describeBrowser, launchChromium } from '../../test/support/browser.ts';
import { SwitchableProxy } from './support/switchable-proxy.ts';
import { TestContext, uniqueName } from './support/test-context.ts';

/** A page of a browser app served from an origin of its own: it only has to be there. */
const APP_PAGE = '<!doctype html><html lang="en"><head><title>app</title></head><body>app</body></html>';

interface Listening {
  origin: string;
  close: () => Promise<void>;
}

/** Listens on a port of its own on 127.0.0.1: another origin than the API's. */
async function listen(server: Server): Promise<Listening> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Serves APP_PAGE at every path. */
function startAppOrigin(): Promise<Listening> {
  return listen(
    createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(APP_PAGE);
    }),
  );
}

interface PageCall {
  method: string;
  url: string;
  token?: string;
  body?: unknown;
  idempotencyKey?: string;
}

/** What the page's script saw: a response, or the error its fetch rejected with. */
type PageResult =
  | {
      ok: true;
      status: number;
      json: unknown;
      requestId: string | null;
      replayed: string | null;
    }
  | { ok: false; name: string; message: string };

/** A fetch made by the page's own JavaScript, so the browser applies CORS to it as to an app. */
function callFromPage(page: Page, call: PageCall): Promise<PageResult> {
  return page.evaluate(async ({ method, url, token, body, idempotencyKey }): Promise<PageResult> => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.Authorization = `session_id ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (idempotencyKey !== undefined) headers['Idempotency-Key'] = idempotencyKey;
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return {
        ok: true,
        status: res.status,
        json: text === '' ? null : JSON.parse(text),
        requestId: res.headers.get('X-Request-Id'),
        replayed: res.headers.get('Idempotent-Replayed'),
      };
    } catch (err) {
      const error = err as Error;
      return { ok: false, name: error.name, message: error.message };
    }
  }, call);
}

/** The response, failing the test with what the page saw when the fetch was refused. */
function answered(result: PageResult): Extract<PageResult, { ok: true }> {
  if (!result.ok) throw new Error(`the page's fetch was refused: ${result.name}: ${result.message}`);
  return result;
}

const chromium = await chromiumAvailability();

describeBrowser('In a browser (Chromium)', chromium, () => {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  // A fresh context (cookies, cache, CORS preflight cache) for every test.
  beforeEach(async () => {
    context = await browser!.newContext();
  });
  afterEach(async () => {
    await context?.close();
  });

  async function open(url: string): Promise<Page> {
    const page = await context!.newPage();
    const response = await page.goto(url);
    expect(response?.status(), `GET ${url}`).to.equal(200);
    return page;
  }

  describe('a page on another origin, listed in CORS_ORIGINS', () => {
    let t: TestContext | undefined;
    let allowed: Listening | undefined;
    let other: Listening | undefined;
    before(async () => {
      allowed = await startAppOrigin();
      other = await startAppOrigin();
      t = await TestContext.start({ CORS_ORIGINS: allowed.origin });
    });
    after(async () => {
      await t?.stop();
      await allowed?.close();
      await other?.close();
    });

    it('registers, logs in, creates a chat, posts with an Idempotency-Key and reads the history', async () => {
      const api = (path: string) => new URL(path, t!.baseUrl).href;
      const page = await open(`${allowed!.origin}/`);
      expect(await page.evaluate('location.origin')).to.equal(allowed!.origin);
      expect(allowed!.origin).to.not.equal(new URL(t!.baseUrl).origin);

      const user_name = uniqueName('browser');
      const password = `pw-${randomUUID()}`;
      const register = answered(
        await callFromPage(page, {
          method: 'POST',
          url: api('/v1/auth/register'),
          body: { user_name, password },
        }),
      );
      expect(register.status).to.equal(201);
      // The app can read the request id to quote it in a bug report: CORS exposes it.
      expect(register.requestId).to.be.a('string').and.not.equal('');

      const login = answered(
        await callFromPage(page, {
          method: 'POST',
          url: api('/v1/auth/login'),
          body: { user_name, password },
        }),
      );
      expect(login.status).to.equal(200);
      const token = (login.json as { session_id: string }).session_id;
      expect(token).to.be.a('string');

      const chat = answered(
        await callFromPage(page, {
          method: 'POST',
          url: api('/v1/chats'),
          token,
          body: { chat_name: uniqueName('browser-chat') },
        }),
      );
      expect(chat.status).to.equal(201);
      const chatId = (chat.json as { chat_id: string }).chat_id;

      // Authorization, Content-Type: application/json and Idempotency-Key each need a preflight.
      const post: PageCall = {
        method: 'POST',
        url: api(`/v1/chats/${chatId}/messages`),
        token,
        body: { message: 'hello from another origin' },
        idempotencyKey: randomUUID(),
      };
      const first = answered(await callFromPage(page, post));
      expect(first.status).to.equal(201);
      expect(first.replayed).to.equal(null);
      const messageId = (first.json as { message_id: string }).message_id;
      const retry = answered(await callFromPage(page, post));
      expect(retry.status).to.equal(201);
      expect(retry.json).to.deep.equal({ message_id: messageId });
      expect(retry.replayed).to.equal('true');
      expect(await t!.messageCount(chatId)).to.equal(1);

      const history = answered(
        await callFromPage(page, { method: 'GET', url: api(`/v1/chats/${chatId}/messages?limit=10`), token }),
      );
      expect(history.status).to.equal(200);
      const { messages } = history.json as { messages: Array<{ message_id: string; text: string }> };
      expect(messages.map((m) => [m.message_id, m.text])).to.deep.equal([
        [messageId, 'hello from another origin'],
      ]);
      expect(history.requestId).to.be.a('string').and.not.equal(first.requestId);
    });

    it('lets the page read an error body and its request id', async () => {
      const page = await open(`${allowed!.origin}/`);
      const denied = answered(
        await callFromPage(page, { method: 'GET', url: new URL('/v1/chats', t!.baseUrl).href }),
      );
      expect(denied.status).to.equal(401);
      expect(denied.json).to.include({ message: 'auth-failed' });
      expect(denied.requestId).to.be.a('string').and.not.equal('');
    });

    it('is refused for a page on an origin that is not listed: its fetch rejects with a TypeError', async () => {
      const page = await open(`${other!.origin}/`);
      const simple = await callFromPage(page, { method: 'GET', url: new URL('/ping', t!.baseUrl).href });
      expect(simple).to.include({ ok: false, name: 'TypeError' });

      // A request that needs a preflight is never sent: the refused preflight stops it.
      const credentials = { user_name: uniqueName('refused'), password: `pw-${randomUUID()}` };
      const register = await callFromPage(page, {
        method: 'POST',
        url: new URL('/v1/auth/register', t!.baseUrl).href,
        body: credentials,
      });
      expect(register).to.include({ ok: false, name: 'TypeError' });
      const login = await t!.api.POST('/v1/auth/login', { body: credentials });
      expect(login.response.status, 'the refused registration was not made').to.equal(401);
    });
  });

  // No CORS_ORIGINS: the docs page calls the server that served it, so it needs none at any address.
  describe('Swagger UI at /docs', () => {
    let t: TestContext | undefined;
    let proxy: Listening | undefined;
    before(async () => {
      t = await TestContext.start();
      // A reverse proxy passing every path and header through, as deploy/nginx.conf does.
      proxy = await SwitchableProxy.start(t.baseUrl);
    });
    after(async () => {
      await proxy?.close();
      await t?.stop();
    });

    const openedAt: Array<[string, () => string]> = [
      ['127.0.0.1', () => `http://127.0.0.1:${new URL(t!.baseUrl).port}`],
      ['localhost', () => `http://localhost:${new URL(t!.baseUrl).port}`],
      ['a reverse proxy on another port', () => proxy!.origin],
    ];
    for (const [where, origin] of openedAt) {
      it(`runs "Try it out" for GET /ping when opened at ${where}`, async () => {
        const page = await open(`${origin()}/docs`);

        // The contract's relative server, resolved by the page against its own address.
        const servers = page.locator('.servers select');
        await servers.waitFor();
        expect(await servers.locator('option').count()).to.equal(1);
        expect(await servers.inputValue()).to.equal('/');

        const operation = page.locator('#operations-system-ping');
        await operation.locator('.opblock-summary').click();
        await operation.getByRole('button', { name: 'Try it out' }).click();
        await operation.getByRole('button', { name: 'Execute' }).click();

        // The live response Swagger UI shows: where it sent the request, the status and the body.
        const response = operation.locator('.live-responses-table tr.response');
        await response.waitFor();
        expect((await response.locator('.response-col_status').textContent())?.trim()).to.equal('200');
        expect(await response.locator('.response-col_description').textContent()).to.contain(
          '"status": "ok"',
        );
        const requestUrl = await operation.locator('.request-url pre').textContent();
        expect(requestUrl?.trim()).to.equal(`${origin()}/ping`);
      });
    }
  });
});
