import { createHash } from 'node:crypto';

/** The request a key was first used for: method, path and body (key order does not matter). */
export function fingerprint(method: string, path: string, body: unknown): string {
  return sha256(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * JSON with object keys sorted (and `undefined` members left out), so that two bodies that differ
 * only in key order are one request. Iterative, with its own stack: a body nested thousands of
 * levels deep must cost time in proportion to its size, never a stack overflow.
 */
export function canonicalJson(root: unknown): string {
  const out: string[] = [];
  // What is left to write, the next item last: a value, or text written as it is.
  const todo: Array<{ value: unknown } | string> = [{ value: root }];
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const { value } = item;
    if (Array.isArray(value)) {
      todo.push(']');
      for (let i = value.length - 1; i >= 0; i--) {
        todo.push({ value: value[i] });
        if (i > 0) todo.push(',');
      }
      todo.push('[');
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      todo.push('}');
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, v] = entries[i]!;
        todo.push({ value: v });
        todo.push(`${JSON.stringify(k)}:`);
        if (i > 0) todo.push(',');
      }
      todo.push('{');
    } else {
      out.push(JSON.stringify(value) ?? 'null');
    }
  }
  return out.join('');
}
