import { randomUUID } from 'node:crypto';
import { STATUS_CODES, maxHeaderSize, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@messenger/shared';

/** A request the HTTP server refuses before Koa sees it: the status Node would use, and why. */
interface Refusal {
  status: 400 | 408 | 417 | 431;
  detail: string;
}

/** Node's parser and timeout errors as refusals (statuses as Node's own default handler picks them). */
function refusalFor(code: string | undefined): Refusal {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, detail: `the request line and headers are over ${maxHeaderSize} bytes` };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, detail: 'the request did not arrive in time' };
  // Node answers 413 to an overlong chunk extension; 400 is as true and every operation declares it.
  return { status: 400, detail: `the request is not valid HTTP/1.1 (${code ?? 'unparsable'})` };
}

/** A refusal as the documented error body, with an id to find its log line by. */
function render(refusal: Refusal, requestId: string): { head: Record<string, string>; body: string } {
  const body = JSON.stringify({ message: 'bad-parameters', detail: refusal.detail });
  return {
    head: {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      'X-Request-Id': requestId,
      Connection: 'close',
    },
    body,
  };
}

/**
 * Makes the HTTP server's own refusals speak the API's language: Node answers a request it cannot
 * parse (400), whose headers are too large (431), that arrives too slowly (408) or that expects
 * something other than `100-continue` (417) with an empty body before any middleware runs. Here
 * they answer the documented `{message, detail}` body with an `X-Request-Id`, and are logged.
 */
export function explainRefusals(server: Server, logger: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // As Node's own handler: write only to a socket that can take it, and never into a response
    // that has started (a keep-alive socket can fail its next request mid-answer).
    const current = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent) {
      socket.destroy();
      return;
    }
    const refusal = refusalFor(err.code);
    const requestId = randomUUID();
    const { head, body } = render(refusal, requestId);
    const lines = Object.entries(head).map(([name, value]) => `${name}: ${value}`);
    socket.end(
      [`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}`, ...lines, '', body].join('\r\n'),
    );
    logger.info(
      { reqId: requestId, status: refusal.status, code: err.code },
      'request refused by the HTTP server',
    );
  });

  // Without a listener Node answers an unknown `Expect` with a bare 417.
  server.on('checkExpectation', (req, res) => {
    const refusal: Refusal = {
      status: 417,
      detail: `Expect: "${String(req.headers.expect).slice(0, 100)}" cannot be met; only "100-continue" can`,
    };
    const requestId = randomUUID();
    const { head, body } = render(refusal, requestId);
    res.writeHead(refusal.status, head).end(body);
    logger.info(
      { reqId: requestId, status: refusal.status, method: req.method },
      'request refused by the HTTP server',
    );
  });
}
