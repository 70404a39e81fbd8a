export * from './config.ts';
export * from './errors.ts';
export * from './logger.ts';
export * from './db/index.ts';
export * from './store/index.ts';
export * from './queue/index.ts';
export * from './paths.ts';
export * from './search/index.ts';
