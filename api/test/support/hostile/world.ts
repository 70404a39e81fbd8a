/** The world hostile requests aim at: a member with a chat, a message and a search task, and a stranger. */
import type { TestContext } from '../test-context.ts';

/** Values the generated requests use for the ids and names of a world made for them. */
export interface World {
  /** A session of a member (the owner) of `chat_id`. */
  token: string;
  /** A session of a user who is in none of the world's chats. */
  strangerToken: string;
  /** Path parameters by name: chat_id, message_id, task_id, user_id, user_name, asset. */
  ids: Record<string, string>;
  /** The owner's name and password (for bodies that name a user). */
  userName: string;
  password: string;
  stranger: { userName: string; password: string };
}

/** A member with a chat, a message and a search task, and a stranger: the ids requests aim at. */
export async function makeWorld(t: TestContext): Promise<World> {
  const owner = await t.registerUser('hostile');
  const stranger = await t.registerUser('stranger');
  const world: World = {
    token: owner.token,
    strangerToken: stranger.token,
    userName: owner.userName,
    password: owner.password,
    stranger: { userName: stranger.userName, password: stranger.password },
    ids: { user_id: stranger.userId, user_name: stranger.userName, asset: 'swagger-ui.css' },
  };
  await addChat(t, world);
  return world;
}

/** A chat of the owner's, with a message and a search task. */
async function addChat(t: TestContext, world: World): Promise<void> {
  const owner = t.client(world.token);
  const chat = await owner.POST('/v1/chats', { body: { chat_name: 'hostile input' } });
  if (!chat.data) throw new Error(`the chat was not created: ${chat.response.status}`);
  const chatId = chat.data.chat_id;
  const message = await owner.POST('/v1/chats/{chat_id}/messages', {
    params: { path: { chat_id: chatId } },
    body: { message: 'hostile input target' },
  });
  const task = await owner.POST('/v1/chats/search', { body: { message: 'hostile' } });
  if (!message.data || !task.data) throw new Error('the message or the search task was not created');
  Object.assign(world.ids, {
    chat_id: chatId,
    message_id: message.data.message_id,
    task_id: task.data.task_id,
  });
}

/** A new session of a user whose session a request ended (logout is one of the operations). */
async function login(t: TestContext, userName: string, password: string): Promise<string> {
  const { data } = await t.api.POST('/v1/auth/login', { body: { user_name: userName, password } });
  if (!data) throw new Error(`${userName} cannot log in again`);
  return data.session_id;
}

/**
 * Repairs what the last requests undid (a session ended, the chat deleted): both are allowed.
 * Answers how many repairs it made.
 */
export async function repairWorld(t: TestContext, world: World): Promise<number> {
  let repairs = 0;
  const status = async (path: string, token: string) => {
    const response = await fetch(`${t.baseUrl}${path}`, {
      headers: { Authorization: `session_id ${token}` },
    });
    await response.arrayBuffer();
    return response.status;
  };
  if ((await status('/v1/users/me', world.token)) !== 200) {
    world.token = await login(t, world.userName, world.password);
    repairs++;
  }
  if ((await status('/v1/users/me', world.strangerToken)) !== 200) {
    world.strangerToken = await login(t, world.stranger.userName, world.stranger.password);
    repairs++;
  }
  if ((await status(`/v1/chats/${world.ids.chat_id}`, world.token)) !== 200) {
    await addChat(t, world);
    repairs++;
  }
  return repairs;
}
