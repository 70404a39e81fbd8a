import { expect } from 'chai';
import type { AppError } from '@messenger/shared';
import type { AccountsRepository } from '../src/auth/accounts.repository.ts';
import { resolveActor } from '../src/auth/actor.ts';
import type { Caller } from '../src/auth/caller.ts';

const ALICE = '0b6a8f5e-71c4-4a2d-bc3e-98d1f0a4e7c2';
const BOB = '4f1c2a9e-3d6b-4a51-9a0e-2f7d8c1b5e30';

/** Accounts that know only Alice, and count how often they were asked. */
function accounts(): AccountsRepository & { lookups: number } {
  const fake = {
    lookups: 0,
    findById: async (id: string) => {
      fake.lookups += 1;
      return id === ALICE ? { id: ALICE } : undefined;
    },
  };
  return fake as unknown as AccountsRepository & { lookups: number };
}

const session: Caller = { kind: 'session', userId: ALICE, sessionId: 's', tokenHash: 'h' };
const trusted: Caller = { kind: 'trusted' };

function refusalOf(read: () => unknown): string | undefined {
  try {
    read();
    return undefined;
  } catch (err) {
    return (err as AppError).code;
  }
}

describe('the acting user (Actor)', () => {
  it("is the session's user, with or without their own user_id, and asks the database nothing", async () => {
    const repo = accounts();
    for (const param of [undefined, ALICE]) {
      const actor = await resolveActor(session, param, repo);
      expect(actor.id).to.equal(ALICE);
      expect(actor.idIfNamed).to.equal(ALICE);
      expect(actor.hasSession).to.equal(true);
      expect(actor.scope).to.equal(`u:${ALICE}`);
    }
    expect(repo.lookups).to.equal(0);
  });

  it("refuses, when asked, a session's user_id that names someone else (403), keeping the user's scope", async () => {
    const actor = await resolveActor(session, BOB, accounts());
    expect(refusalOf(() => actor.id)).to.equal('forbidden');
    expect(refusalOf(() => actor.idIfNamed)).to.equal('forbidden');
    expect(actor.scope).to.equal(`u:${ALICE}`);
  });

  it('is whoever user_id names in AUTH_DISABLED mode, once the user is found', async () => {
    const actor = await resolveActor(trusted, ALICE, accounts());
    expect(actor.id).to.equal(ALICE);
    expect(actor.hasSession).to.equal(false);
    expect(actor.scope).to.equal(`t:${ALICE}`);
  });

  it('refuses an unknown or malformed user_id with 404 user-not-found, looking up only a well-formed one', async () => {
    const repo = accounts();
    const unknown = await resolveActor(trusted, BOB, repo);
    const malformed = await resolveActor(trusted, 'not-an-id', repo);
    expect(repo.lookups).to.equal(1);
    for (const actor of [unknown, malformed]) {
      expect(refusalOf(() => actor.id)).to.equal('user-not-found');
      expect(refusalOf(() => actor.idIfNamed)).to.equal('user-not-found');
    }
    expect(malformed.scope).to.equal('t:not-an-id');
  });

  it('without user_id in AUTH_DISABLED mode: 400 where a user is required, nobody where one is optional', async () => {
    const actor = await resolveActor(trusted, undefined, accounts());
    expect(refusalOf(() => actor.id)).to.equal('bad-parameters');
    expect(actor.idIfNamed).to.equal(undefined);
    expect(actor.scope).to.equal('t:');
  });

  it('refuses an anonymous caller when a service asks who acts', async () => {
    const actor = await resolveActor({ kind: 'anonymous' }, undefined, accounts());
    expect(refusalOf(() => actor.id)).to.equal('auth-failed');
  });
});
