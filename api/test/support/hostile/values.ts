/**
 * The raw material of hostile requests: strings, values, path segments, cursors, bodies and headers
 * that have broken services before.
 */
/** Strings that have broken services before: SQL, paths, prototype keys, templates, odd Unicode. */
export const HOSTILE_STRINGS = [
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
export const WRONG_VALUES: unknown[] = [
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
export const HOSTILE_SEGMENTS = [
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
export const HOSTILE_CURSORS = [
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
export const HOSTILE_BODIES: Array<string | Buffer> = [
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

export const AUTHORIZATIONS = [
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

export const CONTENT_TYPES = [
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

export const IDEMPOTENCY_KEYS = [
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

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
