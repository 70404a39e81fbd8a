import { encodeCursor } from './cursor.ts';

export interface Page<T> {
  items: T[];
  /** Present when another page follows: the iterator a client passes back as `from`. */
  next?: { iterator: string };
}

/**
 * A keyset page from rows fetched with one more than `limit`: the extra row only says that another
 * page exists, and the iterator points after the last row the page keeps.
 */
export function keysetPage<R>(rows: R[], limit: number, cursorOf: (last: R) => unknown): Page<R> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return rows.length > limit && last !== undefined
    ? { items, next: { iterator: encodeCursor(cursorOf(last)) } }
    : { items };
}
