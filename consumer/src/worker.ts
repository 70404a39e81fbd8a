import {
  SearchTaskStore,
  type Config,
  type Database,
  type Logger,
  type Queue,
  type QueueJob,
  type SearchHitView,
  type SearchJob,
  type Store,
} from '@messenger/shared';
import { SearchRepository, type SearchHit } from './search/search.repository.ts';

/** What runs a search: the repository in production; tests may wrap it (slow it down, make it fail). */
export interface SearchEngine {
  search(input: { userId: string; phrase: string; limit: number; deadline: number }): Promise<{
    results: SearchHit[];
    partial: boolean;
  }>;
}

export interface WorkerDeps {
  database: Database;
  store: Store;
  queue: Queue;
  config: Pick<Config, 'queue' | 'search'>;
  logger: Logger;
  engine?: SearchEngine;
}

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

  const handle = async (job: QueueJob<SearchJob>): Promise<void> => {
    const { taskId, userId, phrase } = job.body;
    const task = await tasks.get(taskId);
    if (!task || task.status === 'SUCCESS' || task.status === 'FAILED') {
      log.info({ taskId, status: task?.status ?? 'expired' }, 'job already done or expired: dropped');
      return;
    }
    await tasks.markInProcess(task);
    const started = Date.now();
    try {
      const { results, partial } = await engine.search({
        userId,
        phrase,
        limit: maxResults,
        deadline: started + timeoutMs,
      });
      await tasks.succeed(task, results.map(toHitView), partial, new Date());
      log.info({ taskId, results: results.length, partial, ms: Date.now() - started }, 'search done');
    } catch (err) {
      log.warn({ err, taskId, attempt: job.attempt, lastAttempt: job.lastAttempt }, 'search failed');
      if (job.lastAttempt) await tasks.fail(task, 'the search could not be run', new Date());
      throw err;
    }
  };

  const subscription = await deps.queue.consume<SearchJob>(handle, {
    prefetch: deps.config.queue.prefetch,
    maxAttempts: deps.config.queue.maxAttempts,
  });
  log.info({ backend: deps.queue.backend }, 'search worker started');
  return {
    async stop() {
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
  };
}
