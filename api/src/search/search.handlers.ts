import type { Handler } from '../http/handler-types.ts';
import type { SearchService } from './search.service.ts';

export function searchHandlers(search: SearchService): {
  createSearchTask: Handler<'createSearchTask'>;
  getSearchTaskStatus: Handler<'getSearchTaskStatus'>;
  listSearchResults: Handler<'listSearchResults'>;
} {
  return {
    createSearchTask: async ({ actor, body }) => ({
      status: 201,
      body: { task_id: await search.start(actor, body.message) },
    }),
    getSearchTaskStatus: async ({ actor, params }) => ({
      status: 200,
      body: await search.status(actor, params.task_id),
    }),
    listSearchResults: async ({ actor, query, params }) => ({
      status: 200,
      body: await search.results(actor, params.task_id, query.limit, query.from),
    }),
  };
}
