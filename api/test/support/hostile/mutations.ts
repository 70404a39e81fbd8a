/** What is done to a valid request to make it hostile: the mutations, and malformed HTTP last. */
import { gzipSync } from 'node:zlib';
import {
  bodyValue,
  mutateBodyAt,
  percentEncode,
  setBody,
  setHeader,
  type Draft,
  type Operation,
} from './draft.ts';
import type { Random } from './random.ts';
import {
  AUTHORIZATIONS,
  CONTENT_TYPES,
  HOSTILE_BODIES,
  HOSTILE_CURSORS,
  HOSTILE_SEGMENTS,
  HOSTILE_STRINGS,
  IDEMPOTENCY_KEYS,
  METHODS,
  WRONG_VALUES,
} from './values.ts';
import type { World } from './world.ts';

/** A JSON body of 5 MB of zeros, gzipped to a few KB: it must be refused after the limit, not inflated whole. */
let gzipBomb: Buffer | undefined;

export type Mutation = (draft: Draft, op: Operation, world: World, random: Random) => void;

export const MUTATIONS: Mutation[] = [
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
export const malform = (draft: Draft, random: Random) => {
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
