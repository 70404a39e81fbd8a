/**
 * The 1,000,000-message run of `make bench-search` (issue 14): many chats, the caller a member of a
 * realistic subset, and the end-to-end time of each query class. Seeded straight into PostgreSQL
 * with generate_series, chat batch by chat batch: short texts drawn from English and Russian word
 * lists (frequent words far more often than rare ones), phrases with stop words, typo targets, a
 * made-up token in most messages (so that the vocabulary grows as a real one does) and now and
 * then an e-mail address.
 */
import type pg from 'pg';

export interface ScaleShape {
  messages: number;
  chats: number;
  /** Chats the caller is a member of. */
  memberChats: number;
  /** Other members of every chat, who write its messages. */
  authors: number;
}

// prettier-ignore
const ENGLISH = [
  'the', 'of', 'and', 'to', 'a', 'in', 'is', 'it', 'you', 'that', 'we', 'for', 'on', 'with', 'this',
  'be', 'are', 'was', 'have', 'not', 'at', 'or', 'but', 'so', 'can', 'will', 'just', 'me', 'my', 'our',
  'one of the', 'see you tomorrow', 'to be or not to be', 'as soon as possible', 'let me know',
  'meeting', 'today', 'tomorrow', 'please', 'thanks', 'deploy', 'deployed', 'deploys', 'release',
  'report', 'running', 'runs', 'run', 'message', 'messages', 'messaging', 'review', 'server', 'client',
  'ticket', 'tickets', 'benefit', 'benefits', 'chunks', 'lives', 'tired', 'river', 'given', 'timer',
  'tiger', 'donuts', 'monks', 'cooks', 'coffee', 'lunch', 'weekly', 'status', 'update', 'database',
  'search', 'index', 'hello', 'world', 'would', 'could', 'should', 'think', 'time', 'people', 'year',
  'good', 'new', 'first', 'last', 'long', 'great', 'little', 'own', 'other', 'old', 'right', 'big',
  'high', 'different', 'small', 'large', 'next', 'early', 'young', 'important', 'few', 'public', 'bad',
  'same', 'able', 'weather', 'train', 'station', 'office', 'project', 'budget', 'invoice', 'customer',
  'support', 'question', 'answer', 'problem', 'solution', 'network', 'password', 'account', 'document',
  'schedule',
];
// prettier-ignore
const RUSSIAN = [
  'и', 'в', 'не', 'на', 'я', 'что', 'он', 'с', 'как', 'а', 'то', 'все', 'она', 'так', 'его', 'но',
  'да', 'ты', 'к', 'у', 'же', 'вы', 'за', 'бы', 'по', 'только', 'ее', 'мне', 'было', 'вот',
  'и не только', 'в каком городе', 'до завтра', 'как дела', 'сообщение', 'сообщения', 'привет',
  'встреча', 'сегодня', 'завтра', 'спасибо', 'пожалуйста', 'отчёт', 'проект', 'каком', 'какие',
  'каким', 'какой', 'молюсь', 'молились', 'молоко', 'остался', 'останься', 'остановка', 'осталось',
  'оставь', 'острый', 'билет', 'билеты', 'поезд', 'вокзал', 'работа', 'время', 'человек', 'год',
  'день', 'рука', 'дело', 'жизнь', 'глаз', 'новый', 'первый', 'последний', 'большой', 'хороший',
  'другой', 'главный', 'сервер', 'клиент', 'задача', 'вопрос', 'ответ', 'проблема', 'решение',
];

const sqlArray = (words: string[]) => `array[${words.map((w) => `'${w.replace(/'/g, "''")}'`).join(',')}]`;

/** Chats in batches of this many per statement. */
const BATCH_CHATS = 100;

/**
 * Seeds users, chats, memberships and messages; answers the caller's id (a user the API made, so
 * that it can log in) after making it a member of `memberChats` chats.
 */
export async function seedScale(
  client: pg.Client,
  callerId: string,
  shape: ScaleShape,
  tag: string,
): Promise<void> {
  const perChat = Math.ceil(shape.messages / shape.chats);
  await client.query(`select setseed(0.14)`);
  await client.query(
    `insert into users (user_name) select $1 || '-author-' || g from generate_series(1, $2) g`,
    [tag, shape.authors],
  );
  await client.query(
    `insert into chats (chat_name, last_message_seq) select $1 || '-chat-' || g, $3 from generate_series(1, $2) g`,
    [tag, shape.chats, perChat],
  );
  await client.query(`
    create temporary table scale_chats as
      select id, row_number() over (order by chat_name) as n from chats where chat_name like '${tag}-chat-%';
    create temporary table scale_authors as
      select id, row_number() over (order by user_name) as n from users where user_name like '${tag}-author-%';
  `);
  // Every chat has 5 authors; the caller is in every (chats / memberChats)-th chat.
  await client.query(`
    insert into chat_members (chat_id, user_id)
    select distinct c.id, a.id from scale_chats c
    join generate_series(0, 4) k on true
    join scale_authors a on a.n = 1 + (c.n * 5 + k) % ${shape.authors}`);
  await client.query(
    `insert into chat_members (chat_id, user_id)
     select id, $1 from scale_chats where n % ${Math.floor(shape.chats / shape.memberChats)} = 0
     order by n limit ${shape.memberChats}`,
    [callerId],
  );
  for (let from = 1; from <= shape.chats; from += BATCH_CHATS) {
    await client.query(`
      insert into messages (chat_id, seq, user_id, text, created_at)
      select c.id, s, a.id,
        (select string_agg(
            (case when c.n % 3 = 0 then ${sqlArray(RUSSIAN)} else ${sqlArray(ENGLISH)} end)
              [1 + floor(power(random(), 2.2) * (case when c.n % 3 = 0 then ${RUSSIAN.length} else ${ENGLISH.length} end))::int + 0 * w],
            ' ')
          -- The argument names w: an aggregate of outer columns only would be the outer query's.
          from generate_series(1, 3 + (s * 7 + c.n) % 8) w)
        || case when (s + c.n) % 3 <> 0
             then ' ' || translate(substr(md5((s * 7919 + c.n)::text), 1, 4 + s % 5), '0123456789', 'aeioubcdfg')
             else '' end
        || case when (s + c.n) % 50 = 0 then ' mail ' || 'user' || (s % 977) || '@site' || (c.n % 100) || '.example.org' else '' end,
        timestamptz '2025-01-01' + make_interval(secs => s * ${shape.chats} + c.n::int)
      from scale_chats c
      cross join generate_series(1, ${perChat}) s
      join scale_authors a on a.n = 1 + (c.n * 5 + s % 5) % ${shape.authors}
      where c.n between ${from} and ${from + BATCH_CHATS - 1}`);
  }
  await client.query('analyze');
}

/** The query classes the run times, a few phrases each. */
export const SCALE_CLASSES: Array<[string, string[]]> = [
  ['exact', ['ticket', 'привет', 'coffee']],
  ['phrase', ['one of the', 'и не только', 'see you tomorrow']],
  ['stem', ['deploying', 'сообщениями', 'benefited']],
  ['prefix', ['оста', 'mess', 'tick']],
  ['typo', ['tivet', 'bneeflt', 'млоось', 'conuks']],
];
