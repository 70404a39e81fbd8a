/**
 * The events scenario's people and chats: many users, each logged in once, in chats of a few dozen
 * members. The first user registers through the API; the others are inserted with that user's
 * password hash (the same password, so each still logs in through the API and argon2), because
 * registering thousands one by one would add minutes of hashing that the scenario does not measure.
 * Logins, chats and members go through the API, so sessions, memberships and their events are
 * exactly what the API makes.
 */
import pg from 'pg';
import type { ApiClient } from '../setup.ts';

export interface EventsShape {
  readonly streams: number;
  /** streams each user holds (one session, like browser tabs sharing a login) */
  readonly streamsPerUser: number;
  readonly chatSize: number;
  /** how many chats each user is in */
  readonly chatsPerUser: number;
}

export interface EventsUser {
  readonly name: string;
  readonly token: string;
}

export interface EventsChat {
  readonly id: string;
  /** indexes into `users`; the first one created the chat */
  readonly members: readonly number[];
}

export interface EventsFixture {
  readonly users: readonly EventsUser[];
  readonly chats: readonly EventsChat[];
}

const PASSWORD = 'bench events password';

/** Runs `fn` over `items` with at most `width` in flight; answers the results in order. */
export async function pool<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** A permutation of 0..n-1 from a fixed seed (xorshift), so every run builds the same chats. */
function shuffled(n: number, seed: number): number[] {
  const items = Array.from({ length: n }, (_, i) => i);
  let s = seed || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [items[i], items[j]] = [items[j] as number, items[i] as number];
  }
  return items;
}

/**
 * Which users are in which chat: round r puts every user into exactly one of its own chats (users
 * in a shuffled order, `chatSize` at a time), so no user is twice in a chat and each is in
 * `chatsPerUser` chats with different people.
 */
export function memberships(users: number, { chatSize, chatsPerUser }: EventsShape): number[][] {
  const chats: number[][] = [];
  for (let round = 0; round < chatsPerUser; round++) {
    const order = round === 0 ? shuffled(users, 0) : shuffled(users, 0x9e37 * round);
    for (let i = 0; i < users; i += chatSize) chats.push(order.slice(i, i + chatSize));
  }
  // A last chat of one member would see only its own messages: fold it into the one before.
  const last = chats.at(-1);
  if (last && last.length < 2 && chats.length > 1)
    chats.splice(-1, 1)[0]?.forEach((u) => chats.at(-1)?.push(u));
  return chats;
}

export async function seedEvents(
  apis: readonly ApiClient[],
  databaseUrl: string,
  shape: EventsShape,
  log: (line: string) => void,
): Promise<EventsFixture> {
  const count = Math.ceil(shape.streams / shape.streamsPerUser);
  const names = Array.from({ length: count }, (_, i) => `bench-events-${i}`);
  const api = (i: number): ApiClient => apis[i % apis.length] as ApiClient;

  await api(0).call('POST', '/v1/auth/register', {
    body: { user_name: names[0], password: PASSWORD },
    expect: 201,
  });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // The same columns the API's own insert writes (api/src/auth/accounts.repository.ts).
    await client.query(
      `insert into users (user_name, password_hash, name_key)
       select n, (select password_hash from users where user_name = $1), lower(normalize(btrim(n), NFKC))
       from unnest($2::text[]) as n`,
      [names[0], names.slice(1)],
    );
  } finally {
    await client.end();
  }

  let started = Date.now();
  const users = await pool(names, 8, async (name, i) => {
    const { session_id } = await api(i).call<{ session_id: string }>('POST', '/v1/auth/login', {
      body: { user_name: name, password: PASSWORD },
      expect: 200,
    });
    return { name, token: session_id };
  });
  log(`  ${users.length} users logged in in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  started = Date.now();
  const chats = await pool(memberships(users.length, shape), 16, async (members, i) => {
    const owner = users[members[0] as number] as EventsUser;
    const { chat_id } = await api(i).call<{ chat_id: string }>('POST', '/v1/chats', {
      body: { chat_name: `bench events ${i}` },
      token: owner.token,
      expect: 201,
    });
    for (const member of members.slice(1)) {
      await api(i).call('POST', `/v1/chats/${chat_id}/users`, {
        body: { user_name: (users[member] as EventsUser).name },
        token: owner.token,
        expect: 201,
      });
    }
    return { id: chat_id, members };
  });
  log(
    `  ${chats.length} chats of ${shape.chatSize} members (${shape.chatsPerUser} per user) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return { users, chats };
}
