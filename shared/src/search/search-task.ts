/** What the API and the search worker share about a search: the job, the task record, the results. */

/** The message the API publishes and the worker consumes. */
export interface SearchJob {
  taskId: string;
  userId: string;
  phrase: string;
}

export type SearchStatus = 'WAITING' | 'IN_PROCESS' | 'SUCCESS' | 'FAILED';

/** A task as the store keeps it. Times are ISO strings. */
export interface SearchTask {
  task_id: string;
  user_id: string;
  phrase: string;
  status: SearchStatus;
  created_at: string;
  finished_at: string | null;
  result_count: number | null;
  partial: boolean;
  reason: string | null;
  /** The misspelt words and what was searched instead, when the results are corrections (issue 14). */
  corrections?: SearchCorrection[];
}

export interface SearchCorrection {
  word: string;
  corrections: string[];
}

/** How a result matched, best first (openapi.yaml, SearchHit.match). */
export type SearchMatch = 'phrase' | 'exact' | 'stem' | 'prefix' | 'corrected';

/** One result, as stored and as served. */
export interface SearchHitView {
  message_id: string;
  chat_id: string;
  user_id: string;
  /** null when the author has deleted their account. */
  user_name: string | null;
  text: string;
  created_at: string;
  highlights: Array<{ start: number; end: number }>;
  match: SearchMatch;
}
