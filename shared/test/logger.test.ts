import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { createLogger, prettyDestination, type Logger } from '../src/logger.ts';

/** A logger writing to memory: `lines` are the raw lines, `records()` parses them. */
function capture(level: Parameters<typeof createLogger>[0] = 'trace'): {
  logger: Logger;
  lines: string[];
  records: () => Array<Record<string, unknown>>;
} {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const SECRET = 'Zq9-secret-value-Zq9';

describe('logger', () => {
  it('writes one JSON line per record, with level, time, service and message', () => {
    const { logger, lines, records } = capture('info');
    logger.info({ userId: 'u1' }, 'user registered');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/\n$/);
    const [record] = records();
    expect(record).to.include({ level: 30, service: 'messenger', userId: 'u1', msg: 'user registered' });
    expect(record?.time).to.be.a('string');
    expect(Number.isNaN(Date.parse(String(record?.time)))).to.equal(false);
  });

  it('drops records below its level', () => {
    const { logger, records } = capture('warn');
    logger.info('not written');
    logger.debug('not written either');
    logger.warn('written');
    expect(records().map((r) => r.msg)).to.deep.equal(['written']);
  });

  it('writes nothing at level silent', () => {
    const { logger, lines } = capture('silent');
    logger.error({ password: SECRET }, 'quiet');
    expect(lines).to.deep.equal([]);
  });

  it('hides the Authorization header of a logged request', () => {
    const { logger, lines, records } = capture();
    logger.info(
      {
        req: {
          method: 'GET',
          url: '/v1/chats',
          headers: { authorization: `session_id ${SECRET}`, host: 'x' },
        },
      },
      'request',
    );
    logger.info({ headers: { authorization: `session_id ${SECRET}` } }, 'headers');
    logger.info({ authorization: `session_id ${SECRET}` }, 'bare');
    expect(lines.join('')).not.to.include(SECRET);
    const [request, headers, bare] = records();
    expect(request?.req).to.deep.equal({
      method: 'GET',
      url: '/v1/chats',
      headers: { authorization: '[redacted]', host: 'x' },
    });
    expect(headers?.headers).to.deep.equal({ authorization: '[redacted]' });
    expect(bare?.authorization).to.equal('[redacted]');
  });

  it('hides passwords at the top level and one level down, keeping the other fields', () => {
    const { logger, lines, records } = capture();
    logger.info({ password: SECRET }, 'top');
    logger.warn({ body: { user_name: 'alice', password: SECRET } }, 'nested');
    expect(lines.join('')).not.to.include(SECRET);
    const [top, nested] = records();
    expect(top?.password).to.equal('[redacted]');
    expect(nested?.body).to.deep.equal({ user_name: 'alice', password: '[redacted]' });
  });

  it('hides session ids and tokens', () => {
    const { logger, lines, records } = capture();
    logger.info({ session_id: SECRET, token: SECRET }, 'top');
    logger.info({ session: { session_id: SECRET, user_id: 'u1' }, auth: { token: SECRET } }, 'nested');
    expect(lines.join('')).not.to.include(SECRET);
    const [top, nested] = records();
    expect(top).to.include({ session_id: '[redacted]', token: '[redacted]' });
    expect(nested?.session).to.deep.equal({ session_id: '[redacted]', user_id: 'u1' });
    expect(nested?.auth).to.deep.equal({ token: '[redacted]' });
  });

  it('hides the raw body a body parser attached to its error', () => {
    const { logger, lines, records } = capture();
    const err = Object.assign(new SyntaxError('invalid JSON'), { body: `{"password":"${SECRET}"` });
    logger.error({ err }, 'bad body');
    expect(lines.join('')).not.to.include(SECRET);
    expect(records()[0]?.err).to.include({
      type: 'SyntaxError',
      message: 'invalid JSON',
      body: '[redacted]',
    });
  });

  it('keeps redacting in child loggers, which add their bindings', () => {
    const { logger, lines, records } = capture();
    logger.child({ component: 'auth' }).info({ password: SECRET, user_name: 'bob' }, 'login');
    expect(lines.join('')).not.to.include(SECRET);
    expect(records()[0]).to.include({
      component: 'auth',
      service: 'messenger',
      password: '[redacted]',
      user_name: 'bob',
    });
  });

  it('writes readable lines, not JSON, through the development destination, still redacting secrets', async () => {
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const logger = createLogger('info', await prettyDestination(output));
    logger.info({ password: SECRET, chatId: 'c1' }, 'chat created');
    await new Promise((resolve) => setImmediate(resolve));
    expect(text).to.match(/INFO.*chat created/);
    expect(text).to.contain('c1');
    expect(text).not.to.contain(SECRET);
    expect(() => JSON.parse(text)).to.throw();
  });
});
