/**
 * The stage the fault suites set before they break anything: a private PostgreSQL and Redis the
 * suite owns (it stops, freezes and flushes them), the API environment that points at them, and a
 * member with a busy chat for the load and a quiet one whose page stays cached.
 */
import { expect } from 'chai';
import { PrivatePostgres } from '../../../test/support/private-postgres.ts';
import { PrivateRedis } from '../../../test/support/private-redis.ts';
import { uniqueTopology } from './backends.ts';
import { createChat, post, readPage, signUp, type Member } from './faults.ts';

export interface PrivateServices {
  pg: PrivatePostgres;
  redis: PrivateRedis;
  /** What an API started on these servers needs: their URLs, a small pool, queues of its own. */
  env: Record<string, string>;
}

/** Starts a private PostgreSQL and Redis side by side. */
export async function startPrivateServices(): Promise<PrivateServices> {
  const [pg, redis] = await Promise.all([PrivatePostgres.start(), PrivateRedis.start()]);
  return {
    pg,
    redis,
    env: { DATABASE_URL: pg.url, REDIS_URL: redis.url, DATABASE_POOL_SIZE: '4', ...uniqueTopology() },
  };
}

/** Removes the private servers (either may be missing when start-up failed part way). */
export async function destroyPrivateServices(services: Partial<PrivateServices>): Promise<void> {
  await Promise.all([services.pg?.destroy(), services.redis?.destroy()]);
}

/**
 * A new member with two chats: `busyChat` for the load to post to, and `quietChat` with one
 * message whose page has been read twice, so the cache holds it and the load can read it while a
 * dependency is away.
 */
export async function memberWithChats(
  url: string,
  base: string,
): Promise<{ member: Member; busyChat: string; quietChat: string }> {
  const member = await signUp(url, base);
  const busyChat = await createChat(url, member);
  const quietChat = await createChat(url, member);
  expect((await post(url, member, quietChat)).status).to.equal(201);
  for (let i = 0; i < 2; i++) expect((await readPage(url, member, quietChat)).status).to.equal(200);
  return { member, busyChat, quietChat };
}
