export * from './search-task.ts';
export * from './task-store.ts';
