import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import createClient, { type Client } from 'openapi-fetch';
import {
  connectQueue,
  type Config,
  type Database,
  type Logger,
  type Queue,
  type Store,
} from '@messenger/shared';
import { startWorker, type Worker } from '@messenger/consumer';
import { App } from '../../src/app.ts';
import type { paths } from '../../src/generated/openapi.ts';
import { sharedBackends, testConfig } from './backends.ts';
import { ContractValidator } from './contract-validator.ts';

let validator: Promise<ContractValidator> | undefined;

/** A name no other test uses. */
export function uniqueName(base = 'user'): string {
  return `${base}-${randomBytes(5).toString('hex')}`;
}

/** The query of a history read (GET /v1/chats/{chat_id}/messages): limit, from, order, user_id. */
export type HistoryQuery = paths['/v1/chats/{chat_id}/messages']['get']['parameters']['query'];

export interface TestUser {
  userId: string;
  userName: string;
  password: string;
  token: string;
  /** A typed client that sends this user's session. */
  api: Client<paths>;
}

/**
 * One running API for a test file: the real Koa app on an ephemeral port, on the run's shared
 * backends, reached through a client generated from openapi.yaml that checks every response
 * against the contract.
 */
export class TestContext {
  /** An anonymous typed client. */
  readonly api: Client<paths>;

  private constructor(
    readonly app: App,
    readonly baseUrl: string,
    private readonly contract: ContractValidator,
    private readonly worker: { worker: Worker; queue: Queue } | undefined,
  ) {
    this.api = this.client();
  }

  get database(): Database {
    return this.app.database;
  }

  get store(): Store {
    return this.app.store;
  }

  get config(): Config {
    return this.app.config;
  }

  /**
   * Starts an app. A search worker runs beside it, as in production: inside the app on the
   * in-process queue, as a worker of its own on RabbitMQ; `worker: false` runs none.
   */
  static async start(
    env: Record<string, string> = {},
    deps: { database?: Database; store?: Store; logger?: Logger; worker?: boolean } = {},
  ): Promise<TestContext> {
    validator ??= ContractValidator.create();
    const backends = await sharedBackends();
    const config = testConfig(env);
    const wantWorker = deps.worker ?? true;
    const app = await App.create(config, {
      ...backends,
      ...deps,
      runWorker: wantWorker && config.queue.backend === 'memory',
    });
    let worker: { worker: Worker; queue: Queue } | undefined;
    if (wantWorker && config.queue.backend === 'amqp') {
      const queue = await connectQueue(config, app.logger);
      worker = {
        queue,
        worker: await startWorker({
          database: app.database,
          store: app.store,
          config,
          queue,
          logger: app.logger,
        }),
      };
    }
    const baseUrl = await app.start();
    return new TestContext(app, baseUrl, await validator, worker);
  }

  async stop(): Promise<void> {
    if (this.worker) {
      await this.worker.worker.stop();
      await this.worker.queue.close();
    }
    await this.app.stop();
  }

  /** A typed client; with a token it sends `Authorization: session_id <token>`. */
  client(token?: string): Client<paths> {
    const client = createClient<paths>({
      baseUrl: this.baseUrl,
      headers: token ? { Authorization: `session_id ${token}` } : {},
    });
    client.use({
      onResponse: async ({ request, response }) => {
        await this.check(request.method, new URL(request.url), response);
        return undefined;
      },
    });
    return client;
  }

  /** An untyped request, for what a typed client cannot send (bad JSON, odd headers); still checked. */
  async raw(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
    const url = new URL(path, this.baseUrl);
    const response = await fetch(url, { method, headers: init.headers, body: init.body });
    await this.check(method, url, response.clone());
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  private async check(method: string, url: URL, response: Response): Promise<void> {
    const type = response.headers.get('content-type') ?? '';
    const body = type.startsWith('application/json') ? await response.clone().json() : undefined;
    const problems = this.contract.problems(method, url, response.status, response.headers, body);
    if (problems.length > 0) {
      throw new Error(
        `response breaks the contract:\n  ${problems.join('\n  ')}\n  body: ${JSON.stringify(body)}`,
      );
    }
  }

  /** A chat's members as the database has them, longest-standing first. */
  membersOf(chatId: string): Promise<Array<{ user_id: string; role: 'owner' | 'member' }>> {
    return this.database.db
      .selectFrom('chat_members')
      .select(['user_id', 'role'])
      .where('chat_id', '=', chatId)
      .orderBy('joined_at')
      .execute();
  }

  /** How many messages a chat has in the database. */
  async messageCount(chatId: string): Promise<number> {
    const row = await this.database.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('chat_id', '=', chatId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Registers and logs in a new user. */
  async registerUser(base = 'user'): Promise<TestUser> {
    const userName = uniqueName(base);
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const registered = await this.api.POST('/v1/auth/register', { body: { user_name: userName, password } });
    if (registered.response.status !== 201 || !registered.data) throw new Error('register failed');
    const login = await this.api.POST('/v1/auth/login', { body: { user_name: userName, password } });
    if (login.response.status !== 200 || !login.data) throw new Error('login failed');
    return {
      userId: registered.data.user_id,
      userName,
      password,
      token: login.data.session_id,
      api: this.client(login.data.session_id),
    };
  }

  /** Registers and logs in one user per base name, one after another (so in this order). */
  async registerUsers<const Bases extends readonly string[]>(
    ...bases: Bases
  ): Promise<{ -readonly [K in keyof Bases]: TestUser }> {
    const users: TestUser[] = [];
    for (const base of bases) users.push(await this.registerUser(base));
    return users as { -readonly [K in keyof Bases]: TestUser };
  }

  async createChat(owner: TestUser, name = uniqueName('chat')): Promise<string> {
    const { data, response } = await owner.api.POST('/v1/chats', { body: { chat_name: name } });
    if (response.status !== 201 || !data) throw new Error(`createChat answered ${response.status}`);
    return data.chat_id;
  }

  async addMember(by: TestUser, chatId: string, user: TestUser): Promise<void> {
    const { response } = await by.api.POST('/v1/chats/{chat_id}/users', {
      params: { path: { chat_id: chatId } },
      body: { user_name: user.userName },
    });
    if (response.status !== 201) throw new Error(`addMember answered ${response.status}`);
  }

  /**
   * A chat of `owner` with `members` added by the owner in order, each joining a little later, so
   * "longest-standing first" is one order and not a tie of equal join times.
   */
  async chatWith(owner: TestUser, ...members: TestUser[]): Promise<string> {
    const chatId = await this.createChat(owner);
    for (const member of members) {
      await sleep(2);
      await this.addMember(owner, chatId, member);
    }
    return chatId;
  }

  async post(author: TestUser, chatId: string, text: string): Promise<string> {
    const { data, response } = await author.api.POST('/v1/chats/{chat_id}/messages', {
      params: { path: { chat_id: chatId } },
      body: { message: text },
    });
    if (response.status !== 201 || !data) throw new Error(`post answered ${response.status}`);
    return data.message_id;
  }

  /**
   * A page of a chat's history as `reader` gets it (a user, or any client: anonymous, another
   * instance's), the whole answer so tests can check refusals too. The default is one page of 100.
   */
  history(
    reader: TestUser | Client<paths>,
    chatId: string,
    query: HistoryQuery = { limit: 100 },
    headers: Record<string, string> = {},
  ) {
    const client = 'api' in reader ? reader.api : reader;
    return client.GET('/v1/chats/{chat_id}/messages', {
      params: { path: { chat_id: chatId }, query },
      headers,
    });
  }
}
