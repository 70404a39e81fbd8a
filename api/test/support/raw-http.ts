import { connect } from 'node:net';

/** A response read off a raw socket. */
export interface RawResponse {
  status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Map<string, string>;
  body: Buffer;
}

/** A raw request not answered in this long hangs, and fails the test. */
export const ANSWER_WITHIN_MS = 5000;

/** Why a raw exchange gave no response: the server closed without one, or took too long. */
export class NoResponse extends Error {}

/**
 * Sends bytes exactly as given (an HTTP client would refuse or repair a malformed request) and
 * reads one response to the end of the connection (the request should say `Connection: close`), or
 * to the end of its head for an event stream.
 * Rejects with NoResponse when none arrives within `timeoutMs`.
 */
export function sendRaw(port: number, request: Buffer, timeoutMs: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new NoResponse(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      const received = Buffer.concat(chunks);
      const parsed = received.length > 0 ? parseResponse(received) : undefined;
      // A server that answers before reading the whole body may reset the socket under our write;
      // the answer it sent first still counts.
      socket.destroy();
      if (parsed) resolve(parsed);
      else reject(new NoResponse(`connection closed without a response${err ? ` (${err.message})` : ''}`));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // An event stream (GET /v1/events) never ends by itself: its head is the whole answer.
      if (
        parseResponse(Buffer.concat(chunks))?.headers.get('content-type')?.startsWith('text/event-stream')
      ) {
        finish();
      }
    });
    socket.on('end', () => finish());
    socket.on('error', (err) => finish(err));
    // Not end(): a server that is not half-open aborts a request whose client has closed its side.
    socket.write(request);
  });
}

/** Parses the first response of a connection's bytes; undefined when they do not hold a whole one. */
export function parseResponse(bytes: Buffer): RawResponse | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...lines] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  let rest = bytes.subarray(headEnd + 4);
  // An interim 100 Continue precedes the real response.
  if (/^HTTP\/1\.[01] 1\d\d /.test(statusLine ?? '')) return parseResponse(rest);
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!match) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') rest = dechunk(rest);
  else if (headers.has('content-length')) rest = rest.subarray(0, Number(headers.get('content-length')));
  return { status: Number(match[1]), headers, body: rest };
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
