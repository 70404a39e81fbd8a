/**
 * Hostile requests generated from openapi.yaml: for a random operation of the contract, a request
 * that would succeed (real ids, a body built from the operation's schema), then one to three
 * mutations of it (wrong types, missing and extra fields, huge and deep values, broken JSON and
 * encodings, NUL and lone surrogates, injection strings, bad ids and cursors, odd headers, bad
 * Idempotency-Keys, malformed HTTP), written out as raw bytes so nothing repairs them on the way.
 * A seeded PRNG makes every run reproducible from its seed.
 */
import { gzipSync } from 'node:zlib';

type Schema = Record<string, unknown>;
type Document = {
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
};

/** Values the generated requests use for the ids and names of a world made for them. */
export interface World {
  /** A session of a member (the owner) of `chat_id`. */
  token: string;
  /** A session of a user who is in none of the world's chats. */
  strangerToken: string;
  /** Path parameters by name: chat_id, message_id, task_id, user_id, user_name, asset. */
  ids: Record<string, string>;
  /** The owner's name and password (for bodies that name a user). */
  userName: string;
  password: string;
  stranger: { userName: string; password: string };
}

export interface HostileRequest {
  /** What was done to the request, for the failure report. */
  label: string;
  /** The operation the request was built from (its mutations may have sent it elsewhere). */
  operationId: string;
  method: string;
  /** The path as sent, without the query. */
  path: string;
  bytes: Buffer;
}

/** A small, fast, seedable PRNG (mulberry32). */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Strings that have broken services before: SQL, paths, prototype keys, templates, odd Unicode. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  "' OR '1'='1",
  "'; DROP TABLE messages; --",
  '1; SELECT pg_sleep(10)',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '__proto__',
  'constructor',
  'prototype',
  '%00',
  '%C0%AF',
  '${jndi:ldap://127.0.0.1/x}',
  '<script>alert(1)</script>',
  '{{7*7}}',
  '\u202eevil',
  '😀'.repeat(40),
  'A'.repeat(10_000),
  '\r\nX-Injected: 1',
  'null',
  'undefined',
  '-1',
  '1e309',
  '\t\n\v\f',
];

/** JSON values of every type, to put where another type belongs. */
const WRONG_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 53 + 1,
  -1e300,
  '',
  'text',
  [],
  [1, 2],
  {},
  { a: 1 },
  HOSTILE_STRINGS,
];

/** Path segments (as sent, already percent-encoded) for ids and names. */
const HOSTILE_SEGMENTS = [
  '%C0',
  '%FF',
  '%',
  '%zz',
  '%ED%A0%80', // a UTF-16 surrogate encoded as UTF-8: not valid UTF-8
  '%F0%9F', // a truncated sequence
  '%00',
  'a%00b',
  encodeURIComponent("' OR 1=1 --"),
  encodeURIComponent('../../etc/passwd'),
  '..',
  '.',
  '%2e%2e',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'a'.repeat(3000),
  '0',
  '-1',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '4f1c2a9e-3d6b-4a51-9a0e-2f7d8c1b5e3',
  encodeURIComponent('😀'),
  'null',
  'me',
  'search',
  '%20',
  '+',
  encodeURIComponent('\u202e'),
];

/** `from` iterators that no server ever issued. */
const HOSTILE_CURSORS = [
  '',
  'eyJ',
  '!!!',
  'a'.repeat(201),
  Buffer.from('{"o":"asc","s":-1}').toString('base64url'),
  Buffer.from('{"o":"sideways","s":1}').toString('base64url'),
  Buffer.from('{"s":"1; DROP TABLE messages"}').toString('base64url'),
  Buffer.from('{"__proto__":{"s":1}}').toString('base64url'),
  Buffer.from('[]').toString('base64url'),
  Buffer.from('null').toString('base64url'),
  Buffer.from('{"o":"asc","s":1e309}').toString('base64url'),
  '%C0',
  '%FF%FE',
];

/** Whole bodies that are not what a JSON API takes. */
const HOSTILE_BODIES: Array<string | Buffer> = [
  '{',
  '{"a":',
  '{"a":1,}',
  "{'a':1}",
  '[]',
  '"text"',
  '1',
  'null',
  'true',
  '',
  ' ',
  '{"a":1}{"b":2}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":1e309}',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  '{"a":"\\x"}',
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xff, 0xfe, 0x22, 0x7d]), // invalid UTF-8 in a string
  Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), // a byte-order mark before {}
  Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]), // UTF-16
  '['.repeat(3000) + ']'.repeat(3000),
  '{"a":'.repeat(3000) + '1' + '}'.repeat(3000),
  `{"a":"${'x'.repeat(70_000)}"}`,
];

const AUTHORIZATIONS = [
  'session_id',
  'session_id ',
  'session_id not-a-token',
  'Bearer abc',
  'Basic YWxpY2U6c2VjcmV0',
  `session_id ${'a'.repeat(8000)}`,
  'session_id a b c',
  "session_id ' OR 1=1 --",
  'session_id __proto__',
  'session_id%20x',
  'SESSION_ID',
];

const CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json, text/plain',
  '*/*',
  'application/merge-patch+json',
  'json',
  '',
];

const IDEMPOTENCY_KEYS = [
  '',
  ' ',
  'a'.repeat(255),
  'a'.repeat(256),
  'a'.repeat(4000),
  'key with spaces',
  '__proto__',
  "' OR 1=1 --",
  '%00',
  '\t',
];

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Percent-encodes the UTF-8 of any string (a lone surrogate becomes U+FFFD: a URL holds bytes). */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[-A-Za-z0-9_.~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** A JSON body of 5 MB of zeros, gzipped to a few KB: it must be refused after the limit, not inflated whole. */
let gzipBomb: Buffer | undefined;

interface Operation {
  operationId: string;
  method: string;
  path: string;
  parameters: Array<{ name: string; in: string; required?: boolean; schema?: Schema }>;
  body: Schema | undefined;
}

/** A request on its way to bytes: every part still open to mutation. */
interface Draft {
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

type Mutation = (draft: Draft, op: Operation, world: World, random: Random) => void;

export class HostileRequests {
  private readonly operations: Operation[];

  constructor(
    private readonly document: Document,
    private readonly random: Random,
  ) {
    this.operations = [];
    for (const [path, item] of Object.entries(document.paths)) {
      const shared = (item.parameters as Schema[] | undefined) ?? [];
      for (const [method, value] of Object.entries(item)) {
        if (!METHODS.includes(method.toUpperCase())) continue;
        const op = value as Schema;
        const parameters = [...shared, ...((op.parameters as Schema[] | undefined) ?? [])].map(
          (p) => this.resolve(p) as Operation['parameters'][number],
        );
        const requestBody = op.requestBody ? this.resolve(op.requestBody as Schema) : undefined;
        const content = requestBody?.content as Record<string, { schema: Schema }> | undefined;
        this.operations.push({
          operationId: op.operationId as string,
          method: method.toUpperCase(),
          path,
          parameters,
          body: content?.['application/json']?.schema,
        });
      }
    }
  }

  /** Every operation of the contract, by id: the generator aims at each in turn. */
  get operationIds(): string[] {
    return this.operations.map((o) => o.operationId);
  }

  /** The next hostile request, aimed at the `index`-th operation (round robin keeps coverage even). */
  next(index: number, world: World): HostileRequest {
    const op = this.operations[index % this.operations.length]!;
    const random = this.random;
    const draft = this.baseline(op, world, random);
    const count = 1 + random.int(3);
    for (let i = 0; i < count; i++) random.pick(MUTATIONS)(draft, op, world, random);
    if (random.chance(1 / 16)) malform(draft, random);
    const path = '/' + draft.segments.join('/');
    return {
      label: `${op.operationId}: ${draft.labels.join(', ')}`,
      operationId: op.operationId,
      method: draft.method,
      path,
      bytes: serialize(draft, path),
    };
  }

  /** A request to `op` that the server would accept: real ids, valid parameters, a valid body. */
  private baseline(op: Operation, world: World, random: Random): Draft {
    const segments = op.path
      .split('/')
      .slice(1)
      .map((segment) => {
        const name = /^\{(.+)\}$/.exec(segment)?.[1];
        return name ? percentEncode(world.ids[name] ?? 'unknown') : segment;
      });
    const query: Array<[string, string]> = [];
    const headers: Array<[string, string | Buffer]> = [];
    for (const p of op.parameters) {
      if (p.in === 'path' || (!p.required && random.chance(0.5))) continue;
      const value = String(this.sample(p.schema ?? {}, p.name, world));
      if (p.in === 'query' && p.name !== 'user_id') query.push([p.name, percentEncode(value)]);
      if (p.in === 'header') headers.push([p.name, value]);
    }
    const session = random.next();
    if (session < 0.6) headers.push(['Authorization', `session_id ${world.token}`]);
    else if (session < 0.75) headers.push(['Authorization', `session_id ${world.strangerToken}`]);
    let body: Buffer | undefined;
    if (op.body || ['POST', 'PATCH'].includes(op.method)) {
      body = Buffer.from(JSON.stringify(op.body ? this.sample(op.body, '', world) : {}));
      headers.push(['Content-Type', 'application/json']);
    }
    return {
      method: op.method,
      segments,
      query,
      headers,
      body,
      rawFraming: false,
      labels: [],
    };
  }

  /** A valid value for a schema: its example, else one built from its constraints. */
  sample(schemaOrRef: Schema, name: string, world: World): unknown {
    const schema = this.resolve(schemaOrRef);
    if (name === 'user_name' || name === 'sender') return world.userName;
    if (name === 'password' || name === 'old_password') return 'not the password at all';
    if (name === 'new_password') return 'a brand new passphrase';
    if (schema.example !== undefined) return schema.example;
    if (Array.isArray(schema.enum)) return schema.enum[0];
    const variants = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
    if (variants) return this.sample(variants[0]!, name, world);
    switch (schema.type) {
      case 'object': {
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        const required = new Set((schema.required as string[] | undefined) ?? []);
        return Object.fromEntries(
          Object.entries(properties)
            .filter(([key]) => required.has(key) || key === 'message')
            .map(([key, value]) => [key, this.sample(value, key, world)]),
        );
      }
      case 'array': {
        const min = Math.max(1, (schema.minItems as number | undefined) ?? 1);
        return Array.from({ length: min }, () => this.sample(schema.items as Schema, name, world));
      }
      case 'integer':
      case 'number':
        return schema.minimum ?? 1;
      case 'boolean':
        return true;
      default:
        return 'x'.repeat(Math.max(1, (schema.minLength as number | undefined) ?? 4));
    }
  }

  private resolve(schema: Schema): Schema {
    let current = schema;
    while (typeof current.$ref === 'string') {
      const [, , section, name] = current.$ref.split('/');
      current = this.document.components[section!]![name!] as Schema;
    }
    return current;
  }
}

/** Writes a draft as HTTP/1.1 bytes, one request per connection. */
function serialize(draft: Draft, path: string): Buffer {
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
function bodyValue(draft: Draft): unknown {
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
function pathsIn(value: unknown): Array<Array<string | number>> {
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

function setBody(draft: Draft, value: unknown): void {
  draft.body = Buffer.from(JSON.stringify(value) ?? '');
  if (!draft.headers.some(([name]) => name === 'Content-Type'))
    draft.headers.push(['Content-Type', 'application/json']);
}

/** Changes the value at `path` inside the body (the root for []) with `change`. */
function mutateBodyAt(
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

const setHeader = (draft: Draft, name: string, value: string | Buffer) => {
  draft.headers = draft.headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  draft.headers.push([name, value]);
};

const MUTATIONS: Mutation[] = [
  // ids and names in the path
  (draft, op, _w, random) => {
    const slots = op.path
      .split('/')
      .slice(1)
      .flatMap((s, i) => (s.startsWith('{') ? [i] : []));
    if (slots.length === 0) return;
    const segment = random.pick(HOSTILE_SEGMENTS);
    draft.segments[random.pick(slots)] = segment;
    draft.labels.push(`path segment ${segment.slice(0, 40)}`);
  },
  // a query parameter of the wrong type or a hostile value
  (draft, op, _w, random) => {
    const declared = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
    const name = declared.length > 0 ? random.pick(declared) : 'limit';
    const value = random.chance(0.3)
      ? random.pick(['%C0', '%FF', '-1', '0', '1e309', '99999999999999999999', 'NaN', '1.5', ''])
      : percentEncode(random.pick(HOSTILE_STRINGS));
    draft.query = draft.query.filter(([k]) => k !== name);
    draft.query.push([name, value]);
    draft.labels.push(`query ${name}=${value.slice(0, 30)}`);
  },
  // a query parameter twice, or one the operation does not take
  (draft, op, _w, random) => {
    const declared = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
    const name = random.pick([...declared, 'x', '__proto__', 'constructor[prototype]', 'a[]', '%C0', '']);
    draft.query.push([name, '1'], [name, '2']);
    draft.labels.push(`query ${name} repeated`);
  },
  // a cursor no server issued
  (draft, _op, _w, random) => {
    const cursor = random.pick(HOSTILE_CURSORS);
    draft.query = draft.query.filter(([k]) => k !== 'from');
    draft.query.push(['from', cursor.startsWith('%') ? cursor : percentEncode(cursor)]);
    draft.labels.push(`from=${cursor.slice(0, 30)}`);
  },
  // a body field missing, or one too many
  (draft, _op, _w, random) => {
    const value = bodyValue(draft);
    if (value && typeof value === 'object' && !Array.isArray(value) && random.chance(0.5)) {
      const keys = Object.keys(value);
      if (keys.length > 0) {
        const key = random.pick(keys);
        delete (value as Record<string, unknown>)[key];
        setBody(draft, value);
        draft.labels.push(`body without ${key}`);
        return;
      }
    }
    mutateBodyAt(draft, random, (parent, key) => {
      const target = parent[key];
      const extra = random.pick(['extra', '__proto__', 'constructor', 'user_id', 'seq', '']);
      if (target && typeof target === 'object' && !Array.isArray(target))
        (target as Record<string, unknown>)[extra] = random.pick(WRONG_VALUES);
      else parent[key] = { [extra]: random.pick(WRONG_VALUES) };
      draft.labels.push(`body extra ${extra}`);
    });
  },
  // a body value of the wrong type, or a hostile string
  (draft, _op, _w, random) => {
    mutateBodyAt(draft, random, (parent, key) => {
      const value = random.chance(0.5) ? random.pick(WRONG_VALUES) : random.pick(HOSTILE_STRINGS);
      parent[key] = value;
      draft.labels.push(`body ${String(key)}=${JSON.stringify(value)?.slice(0, 30)}`);
    });
  },
  // huge and deeply nested values
  (draft, _op, _w, random) => {
    mutateBodyAt(draft, random, (parent, key) => {
      const kind = random.int(4);
      if (kind === 0) parent[key] = 'x'.repeat(60_000);
      else if (kind === 1) parent[key] = Array.from({ length: 5000 }, (_, i) => i);
      else if (kind === 2) {
        let deep: unknown = 1;
        for (let i = 0; i < 40 + random.int(3000); i++) deep = random.chance(0.5) ? [deep] : { a: deep };
        parent[key] = deep;
      } else parent[key] = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i]));
      draft.labels.push(`body ${String(key)} huge or deep (${kind})`);
    });
  },
  // a whole body that is not JSON, or not what a JSON API takes
  (draft, _op, _w, random) => {
    const body = random.pick(HOSTILE_BODIES);
    draft.body = Buffer.isBuffer(body) ? body : Buffer.from(body);
    if (!draft.headers.some(([name]) => name === 'Content-Type'))
      draft.headers.push(['Content-Type', 'application/json']);
    draft.labels.push(`body ${draft.body.subarray(0, 30).toString('latin1')}`);
  },
  // a body that says it is something else
  (draft, _op, _w, random) => {
    const type = random.pick(CONTENT_TYPES);
    if (random.chance(0.2)) draft.headers = draft.headers.filter(([name]) => name !== 'Content-Type');
    else setHeader(draft, 'Content-Type', type);
    draft.body ??= Buffer.from('{}');
    draft.labels.push(`content-type ${type}`);
  },
  // a Content-Encoding that lies, is unknown, or is true (a real gzip, a gzip bomb)
  (draft, _op, _w, random) => {
    draft.body ??= Buffer.from('{}');
    const kind = random.pick([
      'gzip',
      'br',
      'deflate',
      'zstd',
      'gzip, br',
      'GZIP',
      'x',
      'identity',
      'real-gzip',
      'gzip-bomb',
    ]);
    if (kind === 'real-gzip') {
      draft.body = gzipSync(draft.body);
      setHeader(draft, 'Content-Encoding', 'gzip');
    } else if (kind === 'gzip-bomb') {
      gzipBomb ??= gzipSync(Buffer.from(`{"a":"${'0'.repeat(5_000_000)}"}`));
      draft.body = gzipBomb;
      setHeader(draft, 'Content-Encoding', 'gzip');
    } else setHeader(draft, 'Content-Encoding', kind);
    if (!draft.headers.some(([name]) => name === 'Content-Type'))
      draft.headers.push(['Content-Type', 'application/json']);
    draft.labels.push(`content-encoding ${kind}`);
  },
  // a bad Authorization
  (draft, _op, _w, random) => {
    const value = random.pick(AUTHORIZATIONS);
    if (random.chance(0.2)) draft.headers = draft.headers.filter(([name]) => name !== 'Authorization');
    else setHeader(draft, 'Authorization', value);
    draft.labels.push(`authorization ${value.slice(0, 30)}`);
  },
  // headers too large, too many, or odd
  (draft, _op, _w, random) => {
    const kind = random.int(5);
    if (kind === 0) draft.headers.push(['X-Fuzz', 'a'.repeat(20_000)]);
    else if (kind === 1) draft.headers.push(['X-Fuzz', 'a'.repeat(10_000)]);
    else if (kind === 2) for (let i = 0; i < 300; i++) draft.headers.push([`X-Fuzz-${i}`, String(i)]);
    else if (kind === 3)
      draft.headers.push(['X-Request-Id', random.pick(HOSTILE_STRINGS).replace(/[\r\n\0]/g, '')]);
    else draft.headers.push(['If-None-Match', random.pick(['*', '"x"', 'W/"', 'a'.repeat(300)])]);
    draft.labels.push(`headers (${kind})`);
  },
  // an Expect the server cannot meet, or 100-continue
  (draft, _op, _w, random) => {
    const value = random.pick(['100-continue', 'foo', '200-ok', '', '100-continue, foo']);
    setHeader(draft, 'Expect', value);
    draft.labels.push(`expect ${value}`);
  },
  // a bad Idempotency-Key (every operation, whether it takes one or not)
  (draft, _op, _w, random) => {
    const key = random.pick(IDEMPOTENCY_KEYS);
    const roll = random.next();
    if (roll < 0.2) draft.headers.push(['Idempotency-Key', 'one'], ['Idempotency-Key', 'two']);
    else if (roll < 0.35)
      setHeader(draft, 'Idempotency-Key', Buffer.from([0x6b, 0xe9, 0xff])); // not ASCII
    else setHeader(draft, 'Idempotency-Key', key);
    draft.labels.push(`idempotency-key ${roll < 0.35 ? 'repeated or not ASCII' : key.slice(0, 20)}`);
  },
  // another method on the same path
  (draft, _op, _w, random) => {
    draft.method = random.pick(METHODS);
    draft.labels.push(`method ${draft.method}`);
  },
];

/**
 * Not HTTP/1.1 at all: only the server's own refusal may answer. Applied last, after the other
 * mutations, so none of them changes a body under framing written by hand (a chunked request
 * whose body lost its chunks is a slow client, not a malformed one).
 */
const malform = (draft: Draft, random: Random) => {
  const kind = random.int(9);
  if (kind === 0) draft.headers.push(['Bad Header', 'x']);
  else if (kind === 1) draft.headers.push(['X-Nul', Buffer.from([0x61, 0x00, 0x62])]);
  else if (kind === 2) draft.headers.push(['X-Ctl', Buffer.from([0x61, 0x01, 0x7f])]);
  else if (kind === 3) {
    draft.rawFraming = true;
    draft.headers.push(['Content-Length', 'abc']);
  } else if (kind === 4) {
    draft.rawFraming = true;
    draft.body ??= Buffer.from('{}');
    draft.headers.push(['Content-Length', String(draft.body.length)], ['Transfer-Encoding', 'chunked']);
  } else if (kind === 5) {
    draft.rawFraming = true;
    draft.headers.push(['Transfer-Encoding', 'chunked']);
    draft.body = Buffer.from('zz\r\n{}\r\n0\r\n\r\n');
  } else if (kind === 6) draft.requestLine = `${draft.method} /v1/a b HTTP/1.1`;
  else if (kind === 7) draft.requestLine = `${draft.method} /${draft.segments.join('/')} HTTP/2.0`;
  else draft.requestLine = `${draft.method}\u0000 / HTTP/1.1`;
  draft.labels.push(`malformed HTTP (${kind})`);
};
