/**
 * The lightest SSE subscriber that still reads the stream as a client must: one `http.request` on
 * its own socket (no agent pooling, no fetch/undici stream machinery), and a record parser that
 * keeps only what the bench needs (the `id:` and `event:` fields and the `data:` text). Thousands of
 * these share the bench's one process, so each one holds a socket, a string tail and a few fields:
 * about 22 KB of RSS per idle stream against about 45 KB with fetch + eventsource-parser (2,000
 * idle streams from one Node 20 process to a bare SSE server, 2026-12-03).
 */
import http from 'node:http';

export interface SseRecord {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

export interface SseHandlers {
  /** Each complete record with an event or data (comments and `retry:` only are not records). */
  onRecord(record: SseRecord): void;
  /** The stream ended or failed after it had opened. */
  onEnd(reason: string): void;
}

/** An open stream; `close()` drops its socket. */
export interface SseConnection {
  close(): void;
}

/**
 * Opens `GET <url>` with `Authorization: session_id <token>` and resolves once the 200 and its
 * headers arrived (the server registers the stream before it answers, so from then on it gets
 * every new event). Rejects on any other status or a socket error before that.
 */
export function openSse(url: string, token: string, handlers: SseHandlers): Promise<SseConnection> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      agent: false,
      headers: { accept: 'text/event-stream', authorization: `session_id ${token}` },
    });
    let opened = false;
    req.once('error', (err) => (opened ? handlers.onEnd(String(err)) : reject(err)));
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url} answered ${res.statusCode}`));
        return;
      }
      opened = true;
      res.setEncoding('utf8');
      const parse = recordParser(handlers.onRecord);
      res.on('data', parse);
      res.once('close', () => handlers.onEnd(res.complete ? 'ended by the server' : 'connection lost'));
      resolve({ close: () => req.destroy() });
    });
    req.end();
  });
}

/**
 * Feeds text in, calls `onRecord` per complete record (records end with a blank line; the API
 * writes `\n` line ends only, as the SSE spec allows, so `\r` is not handled).
 */
export function recordParser(onRecord: (record: SseRecord) => void): (chunk: string) => void {
  let tail = '';
  return (chunk) => {
    tail += chunk;
    let end: number;
    while ((end = tail.indexOf('\n\n')) !== -1) {
      const block = tail.slice(0, end);
      tail = tail.slice(end + 2);
      let id: string | undefined;
      let event = 'message';
      let data: string | undefined;
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon === 0) continue; // a comment (heartbeat)
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
      }
      if (data !== undefined) onRecord({ id, event, data });
    }
  };
}
