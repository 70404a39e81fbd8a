import argon2 from 'argon2';
import { expect } from 'chai';
import { AppError } from '@messenger/shared';
import { OWASP_ARGON2ID, PasswordHasher } from '../src/auth/password-hasher.ts';
import { TestContext, uniqueName } from './support/test-context.ts';

/** The parameters a stored argon2id hash was made with (its PHC string), as `m=…,t=…,p=…`. */
function paramsOf(hash: string): string | undefined {
  const fields = /^\$argon2id\$v=19\$([^$]+)\$/.exec(hash)?.[1];
  if (!fields) return undefined;
  const get = (name: string) => new RegExp(`(?:^|,)${name}=(\\d+)`).exec(fields)?.[1];
  return `m=${get('m')},t=${get('t')},p=${get('p')}`;
}

const rejectionOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('password hashing (argon2id with deliberate parameters)', () => {
  describe('PasswordHasher', () => {
    it('hashes with the parameters it is given and verifies its own hashes', async () => {
      const hasher = new PasswordHasher({ ...OWASP_ARGON2ID, concurrency: 2, queue: 4 });
      const hash = await hasher.hash('correct horse');
      expect(paramsOf(hash)).to.equal('m=19456,t=2,p=1');
      expect(await hasher.verify(hash, 'correct horse')).to.deep.equal({ ok: true, stale: false });
      expect(await hasher.verify(hash, 'wrong horse')).to.deep.equal({ ok: false, stale: false });
    });

    it('verifies a hash of other parameters and calls it stale only when the password was right', async () => {
      const hasher = new PasswordHasher({ ...OWASP_ARGON2ID, concurrency: 2, queue: 4 });
      const old = await argon2.hash('correct horse', {
        type: argon2.argon2id,
        memoryCost: 8192,
        timeCost: 3,
      });
      expect(await hasher.verify(old, 'correct horse')).to.deep.equal({ ok: true, stale: true });
      expect(await hasher.verify(old, 'wrong horse')).to.deep.equal({ ok: false, stale: false });
    });

    it('runs at most `concurrency` hashes, queues `queue` more and refuses the next with 503 and Retry-After', async () => {
      const hasher = new PasswordHasher({
        memoryKiB: 8192,
        timeCost: 1,
        parallelism: 1,
        concurrency: 1,
        queue: 2,
      });
      const hashes = [hasher.hash('a'), hasher.hash('b'), hasher.hash('c')];
      expect(hasher.load).to.deep.equal({ running: 1, waiting: 2 });
      const refused = await rejectionOf(hasher.hash('d'));
      expect(refused).to.be.instanceOf(AppError);
      expect(refused).to.include({ code: 'service-unavailable', status: 503, retryAfterSeconds: 1 });
      expect(await Promise.all(hashes)).to.have.length(3);
      expect(hasher.load).to.deep.equal({ running: 0, waiting: 0 });
      // Once the storm has passed, hashes run again.
      expect(paramsOf(await hasher.hash('e'))).to.equal('m=8192,t=1,p=1');
    });

    it('frees its slot when a hash fails', async () => {
      const hasher = new PasswordHasher({ ...OWASP_ARGON2ID, concurrency: 1, queue: 0 });
      expect(await rejectionOf(hasher.verify('not a hash', 'x'))).to.be.instanceOf(Error);
      expect(hasher.load).to.deep.equal({ running: 0, waiting: 0 });
      expect((await hasher.verify(await hasher.hash('x'), 'x')).ok).to.equal(true);
    });
  });

  describe('through the API', () => {
    let t: TestContext;
    before(async () => {
      t = await TestContext.start();
    });
    after(() => t.stop());

    const storedHash = async (userName: string) =>
      (
        await t.database.db
          .selectFrom('users')
          .select('password_hash')
          .where('user_name', '=', userName)
          .executeTakeFirstOrThrow()
      ).password_hash!;
    const setHash = (userName: string, hash: string) =>
      t.database.db
        .updateTable('users')
        .set({ password_hash: hash })
        .where('user_name', '=', userName)
        .execute();

    it('stores a new password with OWASP parameters (m = 19 MiB, t = 2, p = 1) by default', async () => {
      const user = await t.registerUser('owasp');
      expect(paramsOf(await storedHash(user.userName))).to.equal('m=19456,t=2,p=1');
    });

    it("logs in with a hash of the library's old defaults and replaces it with one of today's", async () => {
      const user = await t.registerUser('legacy');
      const legacy = await argon2.hash(user.password, { type: argon2.argon2id }); // m=65536,t=3,p=4
      await setHash(user.userName, legacy);

      const wrong = await t.api.POST('/v1/auth/login', {
        body: { user_name: user.userName, password: 'not the password' },
      });
      expect(wrong.response.status).to.equal(401);
      expect(await storedHash(user.userName), 'a failed login rehashes nothing').to.equal(legacy);

      const login = await t.api.POST('/v1/auth/login', {
        body: { user_name: user.userName, password: user.password },
      });
      expect(login.response.status).to.equal(200);
      const rehashed = await storedHash(user.userName);
      expect(paramsOf(rehashed)).to.equal('m=19456,t=2,p=1');
      expect(await argon2.verify(rehashed, user.password)).to.equal(true);
      // And the new hash logs in as well.
      const again = await t.api.POST('/v1/auth/login', {
        body: { user_name: user.userName, password: user.password },
      });
      expect(again.response.status).to.equal(200);
      expect(await storedHash(user.userName)).to.equal(rehashed);
    });
  });

  describe('configured (PASSWORD_HASH_*) and bounded', () => {
    let t: TestContext;
    before(async () => {
      t = await TestContext.start({
        PASSWORD_HASH_MEMORY_KIB: '8192',
        PASSWORD_HASH_TIME_COST: '1',
        PASSWORD_HASH_CONCURRENCY: '1',
        PASSWORD_HASH_QUEUE: '1',
      });
    });
    after(() => t.stop());

    it('hashes with the configured parameters and rehashes an OWASP-default hash to them', async () => {
      const userName = uniqueName('conf');
      const password = 'configured password';
      const registered = await t.api.POST('/v1/auth/register', { body: { user_name: userName, password } });
      expect(registered.response.status).to.equal(201);
      const row = () =>
        t.database.db
          .selectFrom('users')
          .select('password_hash')
          .where('user_name', '=', userName)
          .executeTakeFirstOrThrow();
      expect(paramsOf((await row()).password_hash!)).to.equal('m=8192,t=1,p=1');

      const owasp = await new PasswordHasher({ ...OWASP_ARGON2ID, concurrency: 1, queue: 0 }).hash(password);
      await t.database.db
        .updateTable('users')
        .set({ password_hash: owasp })
        .where('user_name', '=', userName)
        .execute();
      const login = await t.api.POST('/v1/auth/login', { body: { user_name: userName, password } });
      expect(login.response.status).to.equal(200);
      expect(paramsOf((await row()).password_hash!)).to.equal('m=8192,t=1,p=1');
    });

    it('answers a login storm beyond its queue with 503 service-unavailable and Retry-After, the rest normally', async () => {
      const user = await t.registerUser('storm');
      // Known and unknown users alike: the decoy costs a hash too.
      const attempts = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          t.api.POST('/v1/auth/login', {
            body: { user_name: i % 3 === 0 ? uniqueName('ghost') : user.userName, password: user.password },
          }),
        ),
      );
      const statuses = attempts.map((a) => a.response.status);
      const refused = attempts.filter((a) => a.response.status === 503);
      expect(refused.length, statuses.join(',')).to.be.above(0);
      expect(statuses.filter((s) => s === 200).length, statuses.join(',')).to.be.above(0);
      expect(
        statuses.every((s) => s === 200 || s === 401 || s === 503),
        statuses.join(','),
      ).to.equal(true);
      for (const r of refused) {
        expect(r.error?.message).to.equal('service-unavailable');
        expect(r.response.headers.get('retry-after')).to.equal('1');
      }
      // Afterwards, logins go through again.
      const after = await t.api.POST('/v1/auth/login', {
        body: { user_name: user.userName, password: user.password },
      });
      expect(after.response.status).to.equal(200);
    });
  });
});
