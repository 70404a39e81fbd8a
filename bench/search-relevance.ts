/**
 * `npm run bench:relevance`: recall and strict precision of SearchRepository on the small set in
 * bench/relevance/corpus.ts, per query class. On PGlite in memory, or on PostgreSQL with
 * RELEVANCE_POSTGRES_URL (a server URL: a database of its own is made and dropped). Recall: the
 * share of a query's intended targets among its results; strict precision: the share of results
 * that are intended targets. The corpus is also posted in another user's chat: a result from it
 * is a leak and fails the run.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig, connectDatabase, migrate, readMigrations, type Database } from '@messenger/shared';
import { SearchRepository } from '../consumer/src/search/search.repository.ts';
import { MESSAGES, QUERIES } from './relevance/corpus.ts';
import { createDatabase, dropDatabase } from './setup.ts';

const server = process.env.RELEVANCE_POSTGRES_URL;

async function open(): Promise<{ database: Database; dispose: () => Promise<void> }> {
  if (!server) {
    const database = await connectDatabase(loadConfig({ DATABASE_URL: 'pglite://memory' }));
    return { database, dispose: () => database.close() };
  }
  const name = `messenger_relevance_${randomBytes(4).toString('hex')}`;
  await createDatabase(server, name);
  const url = Object.assign(new URL(server), { pathname: `/${name}` }).toString();
  const database = await connectDatabase(loadConfig({ DATABASE_URL: url }));
  return {
    database,
    dispose: async () => {
      await database.close();
      await dropDatabase(server, name);
    },
  };
}

async function main(): Promise<void> {
  const { database, dispose } = await open();
  try {
    await migrate(database, await readMigrations());
    const db = database.db;
    const user = async (name: string) =>
      (await db.insertInto('users').values({ user_name: name }).returning('id').executeTakeFirstOrThrow()).id;
    const chat = async (name: string, member: string) => {
      const id = (
        await db
          .insertInto('chats')
          .values({ chat_name: name, created_by: member })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
      await db.insertInto('chat_members').values({ chat_id: id, user_id: member }).execute();
      return id;
    };
    const caller = await user('caller');
    const stranger = await user('stranger');
    const chats = [await chat('one', caller), await chat('two', caller)];
    const foreign = await chat('foreign', stranger);
    const ownIds = new Set<string>();
    let clock = Date.UTC(2025, 0, 1);
    for (const [i, text] of MESSAGES.entries()) {
      for (const [chatId, userId] of [
        [chats[i % 2]!, caller],
        [foreign, stranger],
      ] as const) {
        clock += 1000;
        const row = await db
          .insertInto('messages')
          .values({ chat_id: chatId, seq: i + 1, user_id: userId, text, created_at: new Date(clock) })
          .returning('id')
          .executeTakeFirstOrThrow();
        if (userId === caller) ownIds.add(row.id);
      }
    }

    const repo = new SearchRepository(db);
    const byClass = new Map<
      string,
      { recall: number[]; hits: number; results: number; empty: number; bestHits: number; best: number }
    >();
    console.log('| class | query | targets | results | of them targets | recall | precision | best tier |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const q of QUERIES) {
      const targets = MESSAGES.filter((m) => q.target.test(m));
      const { results } = await repo.search({
        userId: caller,
        phrase: q.query,
        limit: 100,
        deadline: Date.now() + 30_000,
      });
      for (const r of results)
        if (!ownIds.has(r.message_id)) throw new Error(`leak: ${q.query} found ${r.text}`);
      const hits = results.filter((r) => q.target.test(r.text)).length;
      // The results of the best tier present: what a client that shows \`match\` can single out.
      const tier = (r: (typeof results)[number]) => (r as { match?: string }).match ?? 'all';
      const order = ['phrase', 'exact', 'stem', 'prefix', 'corrected', 'all'];
      const bestTier = order.find((t) => results.some((r) => tier(r) === t));
      const best = results.filter((r) => tier(r) === bestTier);
      const bestHits = best.filter((r) => q.target.test(r.text)).length;
      const recall = targets.length === 0 ? 1 : hits / targets.length;
      const c = byClass.get(q.cls) ?? { recall: [], hits: 0, results: 0, empty: 0, bestHits: 0, best: 0 };
      c.bestHits += bestHits;
      c.best += best.length;
      c.recall.push(recall);
      c.hits += hits;
      c.results += results.length;
      if (results.length === 0) c.empty++;
      byClass.set(q.cls, c);
      const precision = results.length === 0 ? '–' : (hits / results.length).toFixed(2);
      console.log(
        `| ${q.cls} | ${q.query} | ${targets.length} | ${results.length} | ${hits} | ${recall.toFixed(2)} | ${precision} | ${bestTier ?? '–'} ${bestHits}/${best.length} |`,
      );
    }
    console.log('\n| class | queries | recall | strict precision | precision of the best tier | empty |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [cls, c] of byClass) {
      const recall = c.recall.reduce((a, b) => a + b, 0) / c.recall.length;
      const precision = c.results === 0 ? '–' : (c.hits / c.results).toFixed(2);
      const bestPrecision = c.best === 0 ? '–' : (c.bestHits / c.best).toFixed(2);
      console.log(
        `| ${cls} | ${c.recall.length} | ${recall.toFixed(2)} | ${precision} | ${bestPrecision} | ${c.empty} |`,
      );
    }
  } finally {
    await dispose();
  }
}

await main();
