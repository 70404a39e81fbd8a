export { startWorker, type SearchEngine, type Worker, type WorkerDeps } from './worker.ts';
