import type { Handler } from '../http/handler-types.ts';
import type { SearchService } from './search.service.ts';

export function searchHandlers(search: SearchService): {
  createSearchTask: Handler<'createSearchTask'>;
  getSearchTaskStatus: Handler<'getSearchTaskStatus'>;
  listSearchResults: Handler<'listSearchResults'>;
} {
  return {
    createSearchTask: async ({ caller, query, body }) => ({
      status: 201,
      body: { task_id: await search.start(caller, query.user_id, body.message) },
    }),
    getSearchTaskStatus: async ({ caller, query, params }) => ({
      status: 200,
      body: await search.status(caller, query.user_id, params.task_id),
    }),
    listSearchResults: async ({ caller, query, params }) => ({
      status: 200,
      body: await search.results(caller, query.user_id, params.task_id, query.limit, query.from),
    }),
  };
}
