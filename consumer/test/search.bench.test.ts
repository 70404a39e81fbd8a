/**
 * SEARCH_BENCH=1: a timing of SearchRepository's searches over 100k messages on PostgreSQL
 * (TEST_POSTGRES_URL), printed, not asserted. Without SEARCH_BENCH it declares nothing.
 */
import { sql } from 'kysely';
import type { Database } from '@messenger/shared';
import { describeRealService } from '../../shared/test/support/real-services.ts';
import { SearchRepository } from '../src/search/search.repository.ts';
import { Fixture, postgres, searchPostgresTarget, type Target } from './support/search-context.ts';

if (process.env.SEARCH_BENCH === '1') {
  describe('SearchRepository', () => {
    describeRealService('on PostgreSQL, 100k messages (SEARCH_BENCH=1)', postgres, (url) =>
      describeBench(() => searchPostgresTarget(url as string)),
    );
  });
}

function describeBench(open: () => Promise<Target>): void {
  let target: Target | undefined;
  let database: Database;
  let user: string;

  before(async function () {
    this.timeout(600_000);
    target = await open();
    database = await target.fresh();
    const fx = new Fixture(database.db);
    user = await fx.user('bench');
    const chat = await fx.chat(user);
    const started = Date.now();
    // One statement: 100k messages in one chat, varied: two words of a common twenty (so that pairs
    // co-occur), a stop word, a random token, an address, URL or hyphenated word, a rare word.
    await sql`
      insert into messages (chat_id, seq, user_id, text, created_at)
      select ${chat}, g, ${user},
        w.common[1 + g % 20] || ' ' || (array['the','a','to','be','our','new','old','big','small','next'])[1 + (g / 7) % 10]
          || ' ' || translate(substr(md5(g::text), 1, 3 + g % 6), '0123456789', 'aeioubcdfg')
          || ' ' || w.common[1 + (g / 20) % 20]
          || ' ' || (array['team','client','server','e-mail','bob@example.com','https://example.com/path',
                          'state-of-the-art','tomorrow','today','friday'])[1 + (g / 3) % 10]
          || case when g % 1000 = 0 then ' zeppelin' else '' end,
        timestamptz '2024-01-01' + make_interval(secs => g)
      from generate_series(1, 100000) g,
        (select array['hello','world','message','running','deploy','release','meeting','report','сообщение',
                      'привет','database','search','index','weekly','status','update','coffee','lunch','please',
                      'review'] as common) w
    `.execute(database.db);
    await sql`analyze`.execute(database.db);
    console.log(`      inserted 100k messages in ${Date.now() - started} ms`);
  });

  after(async function () {
    this.timeout(60_000);
    await target?.dispose();
  });

  it('times searches over 100k messages (printed, not asserted)', async function () {
    this.timeout(600_000);
    const repo = new SearchRepository(database.db);
    const phrases = [
      'zeppelin',
      'hello',
      'hello world',
      'mess',
      'the',
      'running report',
      'сообщения',
      'bob@example.com',
      'state-of-the-art',
      'helo wrold',
      'zepelin',
      'nothingatall',
    ];
    for (const phrase of phrases) {
      const times: number[] = [];
      let found = 0;
      for (let i = 0; i < 9; i++) {
        const started = process.hrtime.bigint();
        const { results } = await repo.search({
          userId: user,
          phrase,
          limit: 100,
          deadline: Date.now() + 5_000,
        });
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        found = results.length;
      }
      times.sort((a, b) => a - b);
      console.log(
        `      ${JSON.stringify(phrase).padEnd(20)} ${String(found).padStart(3)} results  median ${times[4]?.toFixed(1)} ms  (min ${times[0]?.toFixed(1)}, max ${times[8]?.toFixed(1)})`,
      );
    }
  });
}
