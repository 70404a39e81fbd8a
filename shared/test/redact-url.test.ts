import { expect } from 'chai';
import { redactUrl } from '../src/config.ts';

describe('config', () => {
  describe('redactUrl', () => {
    const cases: Array<[string, string]> = [
      ['postgres://app:s3cret@db:5432/messenger', 'postgres://app:***@db:5432/messenger'],
      ['redis://:s3cret@127.0.0.1:6379/0', 'redis://:***@127.0.0.1:6379/0'],
      ['amqp://guest:s3cret@mq:5672/vhost', 'amqp://guest:***@mq:5672/vhost'],
      // pg, ioredis and WHATWG URL all split user info at the LAST @ before the host
      ['postgres://app:s3:cr@et@db:5432/messenger', 'postgres://app:***@db:5432/messenger'],
      ['redis://:s3@cr@et@cache:6379/0?name=a@b', 'redis://:***@cache:6379/0?name=a@b'],
    ];
    for (const [url, redacted] of cases) {
      it(`hides the password of ${redacted}`, () => {
        expect(redactUrl(url)).to.equal(redacted);
        expect(redactUrl(url)).not.to.match(/s3|cr|et@/);
      });
    }

    for (const url of [
      'postgres://app@db:5432/messenger',
      'postgres://db:5432/messenger',
      'postgres://db:5432/messenger?application_name=a@b',
      'pglite://./.data/db',
      'pglite://memory',
      'memory://',
    ]) {
      it(`leaves ${url} (no password) unchanged`, () => {
        expect(redactUrl(url)).to.equal(url);
      });
    }
  });
});
