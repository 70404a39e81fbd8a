import {
  SearchTaskStore,
  isDependencyUnavailable,
  type Config,
  type Database,
  type Logger,
  type Queue,
  type QueueJob,
  type SearchHitView,
  type SearchJob,
  type Store,
} from '@messenger/shared';
import { SearchRepository, type Correction, type SearchHit } from './search/search.repository.ts';

/** What runs a search: the repository in production; tests may wrap it (slow it down, make it fail). */
export interface SearchEngine {
  search(input: { userId: string; phrase: string; limit: number; deadline: number }): Promise<{
    results: SearchHit[];
    partial: boolean;
    /** The misspelt words and what was searched instead (absent: none). */
    corrections?: Correction[];
  }>;
}

export interface WorkerDeps {
  database: Database;
  store: Store;
  queue: Queue;
  config: Pick<Config, 'queue' | 'search'>;
  logger: Logger;
  engine?: SearchEngine;
  /**
   * How long one attempt waits, in all, for a database or store that does not answer (retrying with
   * backoff) before it counts as failed (default 30 s). An outage shorter than that costs the job
   * nothing; a longer one uses up attempts, and the task ends FAILED, never stuck.
   */
  dependencyWaitMs?: number;
}

const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 2_000;

export interface Worker {
  /** Stops taking jobs and waits for the ones in flight. */
  stop(): Promise<void>;
}

/**
 * The search worker: takes jobs from the queue, runs the search, stores the results and the status,
 * and only then lets the queue acknowledge the job. Handling is idempotent by task id: a job whose
 * task has already finished (a redelivery after a crash) or has expired is acknowledged and dropped;
 * a job that is run again overwrites, never duplicates.
 */
export async function startWorker(deps: WorkerDeps): Promise<Worker> {
  const log = deps.logger.child({ component: 'search-worker' });
  const tasks = new SearchTaskStore(deps.store, deps.config.search);
  const engine = deps.engine ?? new SearchRepository(deps.database.db);
  const { maxResults, timeoutMs } = deps.config.search;

  const dependencyWaitMs = deps.dependencyWaitMs ?? 30_000;
  let stopping = false;

  /** Runs the job, again after a pause whenever a dependency did not answer, within the wait. */
  const handle = async (job: QueueJob<SearchJob>): Promise<void> => {
    const giveUpAt = Date.now() + dependencyWaitMs;
    for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
      try {
        return await handleOnce(job);
      } catch (err) {
        if (!isDependencyUnavailable(err) || stopping || Date.now() + backoff > giveUpAt) {
          if (job.lastAttempt) await failTask(job.body.taskId);
          throw err;
        }
        log.warn(
          { taskId: job.body.taskId, dependency: err.dependency, retryInMs: backoff },
          'waiting for a dependency',
        );
        await new Promise((resolve) => setTimeout(resolve, backoff));
      }
    }
  };

  const handleOnce = async (job: QueueJob<SearchJob>): Promise<void> => {
    const { taskId, userId, phrase } = job.body;
    const task = await tasks.get(taskId);
    if (!task || task.status === 'SUCCESS' || task.status === 'FAILED') {
      log.info({ taskId, status: task?.status ?? 'expired' }, 'job already done or expired: dropped');
      return;
    }
    await tasks.markInProcess(task);
    const started = Date.now();
    try {
      const { results, partial, corrections } = await engine.search({
        userId,
        phrase,
        limit: maxResults,
        deadline: started + timeoutMs,
      });
      await tasks.succeed(task, results.map(toHitView), partial, new Date(), corrections ?? []);
      log.info({ taskId, results: results.length, partial, ms: Date.now() - started }, 'search done');
    } catch (err) {
      log.warn({ err, taskId, attempt: job.attempt, lastAttempt: job.lastAttempt }, 'search failed');
      throw err;
    }
  };

  /** The job's last attempt failed: its task ends FAILED, so no client polls it forever. */
  const failTask = async (taskId: string): Promise<void> => {
    const task = await tasks.get(taskId).catch(() => undefined);
    if (!task || task.status === 'SUCCESS' || task.status === 'FAILED') return;
    await tasks
      .fail(task, 'the search could not be run', new Date())
      .catch((err: unknown) => log.error({ err, taskId }, 'could not mark the task failed'));
  };

  const subscription = await deps.queue.consume<SearchJob>(handle, {
    prefetch: deps.config.queue.prefetch,
    maxAttempts: deps.config.queue.maxAttempts,
  });
  log.info({ backend: deps.queue.backend }, 'search worker started');
  return {
    async stop() {
      stopping = true;
      await subscription.cancel();
      log.info('search worker stopped');
    },
  };
}

function toHitView(hit: SearchHit): SearchHitView {
  return {
    message_id: hit.message_id,
    chat_id: hit.chat_id,
    user_id: hit.user_id,
    user_name: hit.user_name,
    text: hit.text,
    created_at: new Date(hit.created_at).toISOString(),
    highlights: hit.highlights,
    match: hit.match,
  };
}
