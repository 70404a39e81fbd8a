import { randomUUID } from 'node:crypto';
import {
  AppError,
  type Logger,
  type Queue,
  type SearchJob,
  type SearchTask,
  type SearchTaskStore,
} from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import { decodeCursor, encodeCursor } from '../paging/cursor.ts';
import { isWellFormedId } from '../paging/ids.ts';
import type { SearchResultPage, SearchTaskStatus } from '../schemas.ts';

/** A phrase must be longer than this after trimming, as in the original API. */
const MIN_PHRASE_EXCLUSIVE = 3;

interface ResultCursor {
  i: number;
}
const isResultCursor = (v: unknown): v is ResultCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as ResultCursor).i) &&
  (v as ResultCursor).i >= 0;

/**
 * Search tasks as the API sees them: it records a task, hands the job to the queue, and serves
 * the status and the results that the worker leaves in the store.
 */
export class SearchService {
  constructor(
    private readonly tasks: SearchTaskStore,
    /** The queue, connected on first use (and again after a failure), so the API starts without a broker. */
    private readonly queue: () => Promise<Queue>,
    private readonly maxPhraseLength: number,
    private readonly log: Logger,
  ) {}

  async start(actor: Actor, phrase: string): Promise<string> {
    const trimmed = phrase.trim();
    if (trimmed.length <= MIN_PHRASE_EXCLUSIVE) {
      throw new AppError(
        'bad-parameters',
        `body field "message" must be longer than ${MIN_PHRASE_EXCLUSIVE} characters`,
      );
    }
    if (trimmed.length > this.maxPhraseLength) {
      throw new AppError(
        'bad-parameters',
        `body field "message" must be at most ${this.maxPhraseLength} characters`,
      );
    }
    const userId = actor.id;
    const task: SearchTask = {
      task_id: randomUUID(),
      user_id: userId,
      phrase: trimmed,
      status: 'WAITING',
      created_at: new Date().toISOString(),
      finished_at: null,
      result_count: null,
      partial: false,
      reason: null,
    };
    try {
      await this.tasks.create(task);
    } catch (err) {
      throw new AppError('service-unavailable', 'the task store does not answer: try again', { cause: err });
    }
    try {
      const job: SearchJob = { taskId: task.task_id, userId, phrase: trimmed };
      await (await this.queue()).publish(job);
    } catch (err) {
      // No job, no task: a client must never poll a task that nothing will run.
      await this.tasks
        .delete(task.task_id)
        .catch((e: unknown) => this.log.warn({ err: e }, 'could not remove task'));
      this.log.warn({ err }, 'the queue did not take a search job');
      throw new AppError('service-unavailable', 'the search queue does not answer: try again', {
        cause: err,
      });
    }
    return task.task_id;
  }

  async status(actor: Actor, taskId: string): Promise<SearchTaskStatus> {
    const task = await this.ownTask(actor, taskId);
    return {
      task_id: task.task_id,
      status: task.status,
      created_at: task.created_at,
      finished_at: task.finished_at,
      result_count: task.result_count,
      partial: task.partial,
      reason: task.reason,
      corrections: task.corrections ?? [],
    };
  }

  async results(
    actor: Actor,
    taskId: string,
    limit: number,
    from: string | undefined,
  ): Promise<SearchResultPage> {
    const task = await this.ownTask(actor, taskId);
    if (task.status === 'FAILED')
      throw new AppError('task-failed', `the search failed: ${task.reason ?? 'unknown'}`);
    if (task.status !== 'SUCCESS')
      throw new AppError('task-not-complete', `the task is ${task.status}: poll its status`);
    const start = from === undefined ? undefined : decodeCursor(from, isResultCursor).i;
    const page = await this.tasks.readPage(taskId, start, limit);
    if (!page) {
      throw new AppError(
        'bad-parameters',
        'query parameter "from" points at results already acknowledged or past the end',
      );
    }
    return {
      messages: page.items,
      ...(page.next !== undefined ? { next: { iterator: encodeCursor({ i: page.next }) } } : {}),
    };
  }

  /** The task, if the caller may see it: another user's task is as unknown as a missing one. */
  private async ownTask(actor: Actor, taskId: string): Promise<SearchTask> {
    const notFound = new AppError('task-not-found', `no search task with id "${taskId}"`);
    if (!isWellFormedId(taskId)) throw notFound;
    const userId = actor.idIfNamed;
    const task = await this.tasks.get(taskId);
    if (!task || (userId !== undefined && task.user_id !== userId)) throw notFound;
    return task;
  }
}
