/** A request on its way to bytes, and the small edits mutations make to it. */
import type { Random } from './random.ts';

export type Schema = Record<string, unknown>;

/** One operation of the contract, as the generator reads it from openapi.yaml. */
export interface Operation {
  operationId: string;
  method: string;
  path: string;
  parameters: Array<{ name: string; in: string; required?: boolean; schema?: Schema }>;
  body: Schema | undefined;
}

/** A request on its way to bytes: every part still open to mutation. */
export interface Draft {
  method: string;
  /** Path segments, as sent (percent-encoded). */
  segments: string[];
  query: Array<[string, string]>;
  headers: Array<[string, string | Buffer]>;
  body: Buffer | undefined;
  /** Headers written as given; no Content-Length computed. */
  rawFraming: boolean;
  /** Replaces the whole request line. */
  requestLine?: string;
  labels: string[];
}

/** Percent-encodes the UTF-8 of any string (a lone surrogate becomes U+FFFD: a URL holds bytes). */
export function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[-A-Za-z0-9_.~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** Writes a draft as HTTP/1.1 bytes, one request per connection. */
export function serialize(draft: Draft, path: string): Buffer {
  const target =
    draft.query.length > 0 ? `${path}?${draft.query.map(([k, v]) => `${k}=${v}`).join('&')}` : path;
  const head: Array<string | Buffer> = [
    `${draft.requestLine ?? `${draft.method} ${target} HTTP/1.1`}\r\n`,
    'Host: 127.0.0.1\r\n',
    'Connection: close\r\n',
  ];
  for (const [name, value] of draft.headers) head.push(`${name}: `, value, '\r\n');
  if (!draft.rawFraming && draft.body) head.push(`Content-Length: ${draft.body.length}\r\n`);
  head.push('\r\n');
  return Buffer.concat([
    ...head.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part)),
    draft.body ?? Buffer.alloc(0),
  ]);
}

/** The JSON body of a draft, parsed (undefined when it is not JSON). */
export function bodyValue(draft: Draft): unknown {
  try {
    return draft.body ? JSON.parse(draft.body.toString('utf8')) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Paths (as key lists) to values inside a JSON value, the root first: at most 200, at most 6 deep,
 * walked without recursion (an earlier mutation may have nested it thousands deep).
 */
export function pathsIn(value: unknown): Array<Array<string | number>> {
  const found: Array<Array<string | number>> = [];
  const pending: Array<{ value: unknown; at: Array<string | number> }> = [{ value, at: [] }];
  for (let item = pending.shift(); item && found.length < 200; item = pending.shift()) {
    found.push(item.at);
    if (typeof item.value !== 'object' || item.value === null || item.at.length >= 6) continue;
    for (const [key, child] of Object.entries(item.value).slice(0, 20)) {
      pending.push({ value: child, at: [...item.at, Array.isArray(item.value) ? Number(key) : key] });
    }
  }
  return found;
}

export function setBody(draft: Draft, value: unknown): void {
  draft.body = Buffer.from(JSON.stringify(value) ?? '');
  if (!draft.headers.some(([name]) => name === 'Content-Type'))
    draft.headers.push(['Content-Type', 'application/json']);
}

/** Changes the value at `path` inside the body (the root for []) with `change`. */
export function mutateBodyAt(
  draft: Draft,
  random: Random,
  change: (parent: Record<string | number, unknown>, key: string | number) => void,
): boolean {
  const root = { value: bodyValue(draft) ?? {} };
  const paths = pathsIn(root.value).map((p) => ['value', ...p]);
  const path = random.pick(paths);
  let parent = root as unknown as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  change(parent, path.at(-1)!);
  setBody(draft, root.value);
  return true;
}

export const setHeader = (draft: Draft, name: string, value: string | Buffer) => {
  draft.headers = draft.headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  draft.headers.push([name, value]);
};
