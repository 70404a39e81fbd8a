import type { Store } from '../store/store.ts';
import type { SearchCorrection, SearchHitView, SearchTask } from './search-task.ts';

export interface TaskStoreSettings {
  /** A finished task and its results live this long after finishing. */
  resultTtlSeconds: number;
  /** A task that never runs (no worker) lives this long. */
  pendingTtlSeconds: number;
}

/** The results of a task: `items[0]` is result number `drained` (the ones before it were acknowledged). */
interface StoredResults {
  drained: number;
  total: number;
  items: SearchHitView[];
}

const taskKey = (taskId: string) => `search:task:${taskId}`;
const resultsKey = (taskId: string) => `search:results:${taskId}`;

/**
 * Search tasks and their results in the store (Redis), where the API and any number of workers
 * see them. Everything expires: a finished task a few minutes after it finished, a task that never
 * ran after `pendingTtlSeconds`, so nothing is left behind.
 */
export class SearchTaskStore {
  constructor(
    private readonly store: Store,
    private readonly settings: TaskStoreSettings,
  ) {}

  async create(task: SearchTask): Promise<void> {
    await this.store.set(taskKey(task.task_id), JSON.stringify(task), this.settings.pendingTtlSeconds);
  }

  async get(taskId: string): Promise<SearchTask | undefined> {
    const raw = await this.store.get(taskKey(taskId));
    return raw ? (JSON.parse(raw) as SearchTask) : undefined;
  }

  async delete(taskId: string): Promise<void> {
    await this.store.del(taskKey(taskId), resultsKey(taskId));
  }

  async markInProcess(task: SearchTask): Promise<void> {
    await this.store.set(
      taskKey(task.task_id),
      JSON.stringify({ ...task, status: 'IN_PROCESS' } satisfies SearchTask),
      this.settings.pendingTtlSeconds,
    );
  }

  /** Stores the results, then the status that points at them (a reader never sees SUCCESS without results). */
  async succeed(
    task: SearchTask,
    results: SearchHitView[],
    partial: boolean,
    at: Date,
    corrections: SearchCorrection[] = [],
  ): Promise<void> {
    const ttl = this.settings.resultTtlSeconds;
    const stored: StoredResults = { drained: 0, total: results.length, items: results };
    await this.store.set(resultsKey(task.task_id), JSON.stringify(stored), ttl);
    const done: SearchTask = {
      ...task,
      status: 'SUCCESS',
      finished_at: at.toISOString(),
      result_count: results.length,
      partial,
      reason: null,
      corrections,
    };
    await this.store.set(taskKey(task.task_id), JSON.stringify(done), ttl);
  }

  async fail(task: SearchTask, reason: string, at: Date): Promise<void> {
    const failed: SearchTask = {
      ...task,
      status: 'FAILED',
      finished_at: at.toISOString(),
      result_count: null,
      partial: false,
      reason,
    };
    await this.store.set(taskKey(task.task_id), JSON.stringify(failed), this.settings.resultTtlSeconds);
  }

  /**
   * A page of results starting at result number `from` (the first one not yet acknowledged when
   * absent). A `from` acknowledges every result before it: they are removed from the store.
   * Answers `undefined` when `from` points before what was already drained or past the end.
   */
  async readPage(
    taskId: string,
    from: number | undefined,
    limit: number,
  ): Promise<{ items: SearchHitView[]; next: number | undefined } | undefined> {
    const key = resultsKey(taskId);
    const raw = await this.store.get(key);
    const stored: StoredResults = raw
      ? (JSON.parse(raw) as StoredResults)
      : { drained: 0, total: 0, items: [] };
    const start = from ?? stored.drained;
    if (start < stored.drained || start > stored.total) return undefined;
    if (start > stored.drained) {
      const drained: StoredResults = {
        drained: start,
        total: stored.total,
        items: stored.items.slice(start - stored.drained),
      };
      // Keep the expiry the task already has.
      const ttl = await this.store.ttl(key);
      if (ttl > 0) await this.store.set(key, JSON.stringify(drained), ttl);
      stored.items = drained.items;
      stored.drained = start;
    }
    const items = stored.items.slice(0, limit);
    const end = start + items.length;
    return { items, next: end < stored.total ? end : undefined };
  }
}
