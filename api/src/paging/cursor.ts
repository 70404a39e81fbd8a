import { AppError } from '@messenger/shared';

/**
 * Opaque page iterators: base64url of a small JSON value. Clients must not read them; the server
 * checks what it gets back and answers 400 for anything it did not issue.
 */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(iterator: string, isValid: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(iterator, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!isValid(value))
    throw new AppError('bad-parameters', 'query parameter "from" is not an iterator this API issued');
  return value;
}
