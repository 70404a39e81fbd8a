import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root (where openapi.yaml and migrations/ live), found by walking up from this
 * module, so that it is the same from the TypeScript sources and from a bundle in api/dist/.
 */
export function projectRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = path.dirname(from);
  for (;;) {
    if (existsSync(path.join(dir, 'openapi.yaml')) && existsSync(path.join(dir, 'migrations'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no openapi.yaml and migrations/ above ${from}`);
    dir = parent;
  }
}
