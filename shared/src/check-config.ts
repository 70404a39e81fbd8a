/**
 * `make run-dev` runs this before the watcher: a bad configuration exits here with every problem
 * listed (code 2), instead of leaving a watcher running that waits for a file to change.
 */
import { loadConfigOrExit } from './config.ts';

loadConfigOrExit();
