import { expect } from 'chai';
import type { SearchStatus } from '@messenger/shared';
import type { components } from '../../src/generated/openapi.ts';
import type { TestUser } from './test-context.ts';

export type Hit = components['schemas']['SearchHit'];

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls a task's status until it is one of `wanted`. */
export async function waitForStatus(
  user: TestUser,
  taskId: string,
  wanted: SearchStatus[] = ['SUCCESS', 'FAILED'],
  timeoutMs = 15_000,
): Promise<components['schemas']['SearchTaskStatus']> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { data, response } = await user.api.GET('/v1/chats/search/status/{task_id}', {
      params: { path: { task_id: taskId } },
    });
    if (response.status === 200 && data && wanted.includes(data.status)) return data;
    if (Date.now() > until)
      throw new Error(`task ${taskId} is ${data?.status ?? response.status}, not ${wanted.join('/')}`);
    await sleep(50);
  }
}

export async function startSearch(user: TestUser, phrase: string): Promise<string> {
  const { data, response, error } = await user.api.POST('/v1/chats/search', { body: { message: phrase } });
  if (response.status !== 201 || !data)
    throw new Error(`search answered ${response.status} ${JSON.stringify(error)}`);
  return data.task_id;
}

export async function readAll(user: TestUser, taskId: string, limit = 1000): Promise<Hit[]> {
  const { data, response } = await user.api.GET('/v1/chats/search/{task_id}/messages', {
    params: { path: { task_id: taskId }, query: { limit } },
  });
  expect(response.status).to.equal(200);
  return data!.messages;
}

/** Runs a search to the end and answers its results. */
export async function search(user: TestUser, phrase: string): Promise<Hit[]> {
  const taskId = await startSearch(user, phrase);
  const status = await waitForStatus(user, taskId);
  expect(status.status, status.reason ?? '').to.equal('SUCCESS');
  return readAll(user, taskId);
}
