/**
 * A small relevance set for `npm run bench:relevance` (bench/search-relevance.ts): short English and
 * Russian messages as people write them, with near neighbours for every typo target (so a
 * correction has rivals), and queries whose intended targets are fixed by a pattern on the text,
 * independent of the search. Kept small enough to read whole.
 */
export const MESSAGES: string[] = [
  // benefit and its neighbours
  'the main benefit is that it is free',
  'what is the benefit of paying yearly?',
  'health benefits start next month',
  'benefits package looks good',
  'we benefit from the new layout',
  'bent the rules a bit',
  'the benefactor called again',
  // ticket and the words "tivet" is also two edits from
  'I bought a ticket for friday',
  'the ticket price went up',
  'lost my ticket, can you resend it?',
  'ticket number 4411 is closed',
  'two tickets left for the show',
  'she lives near the river',
  'I was tired after the trip',
  'given the time, we should go',
  'the river was cold',
  'tired of waiting',
  'he lives in Berlin',
  'the tiger at the zoo',
  'one of the tires is flat',
  'the timer is set',
  // chunks and its rivals
  'split the file into chunks',
  'chunks of ice on the road',
  'donuts in the kitchen',
  'the monks sing at dawn',
  'two cooks in one kitchen',
  // phrases with stop words
  'one of the best days',
  'this is one of the reasons',
  'one of the servers is down',
  'the one we saw of late',
  'one more thing: the deadline',
  'the best of one world',
  'to be or not to be, that is the question',
  'not to be confused with the other one',
  'be there or be square',
  'и не только это',
  'не только он, но и она',
  'и это не всё',
  'только не сегодня',
  'не знаю и не хочу',
  // каком and its stem neighbours
  'в каком городе ты живёшь?',
  'о каком проекте речь?',
  'какие новости?',
  'каким образом это работает',
  'какой сегодня день',
  'в каком часу встреча',
  // молюсь
  'я молюсь за тебя',
  'молюсь каждый вечер',
  'мы молились вместе',
  'молоко закончилось',
  'мелочь, но приятно',
  // оста- prefix
  'остался один день',
  'останься ещё немного',
  'остановка у метро',
  'осталось два билета',
  'оставь это мне',
  'острый соус',
  'ость колоса',
  // glued tokens
  'write to tjimenez@site.gmu.edu for access',
  'the site is down again',
  'mirror at files.site.org/pub',
  'see acct.run for the schedule',
  'run the tests before merging',
  'and/or both options work',
  'you can choose this or that',
  'logs are in /var/log/app/errors.log',
  'too many errors today',
  // fillers
  'hello world',
  'running late again',
  'see the message above',
  'lunch at noon?',
  'новое сообщение',
  'привет, как дела?',
];

export interface RelevanceQuery {
  cls: string;
  query: string;
  /** The intended targets: messages whose text matches. */
  target: RegExp;
}

export const QUERIES: RelevanceQuery[] = [
  { cls: 'typo-transposed', query: 'bneeflt', target: /\bbenefit/i },
  { cls: 'typo-transposed', query: 'млоось', target: /молюсь/i },
  { cls: 'typo-transposed', query: 'tikcet', target: /\btickets?\b/i },
  { cls: 'typo-transposed', query: 'chnuks', target: /\bchunks\b/i },
  { cls: 'typo-2-edits', query: 'tivet', target: /\btickets?\b/i },
  { cls: 'typo-2-edits', query: 'conuks', target: /\bchunks\b/i },
  { cls: 'typo-1-edit', query: 'benefti', target: /\bbenefit/i },
  { cls: 'typo-1-edit', query: 'tiket', target: /\btickets?\b/i },
  { cls: 'phrase-stop-words', query: 'one of the', target: /\bone of the\b/i },
  { cls: 'phrase-stop-words', query: 'и не только', target: /(^|\s)и не только/i },
  { cls: 'phrase-stop-words', query: 'to be or not to be', target: /to be or not to be/i },
  { cls: 'exact-over-stem', query: 'каком', target: /каком/i },
  { cls: 'exact', query: 'ticket', target: /\btickets?\b/i },
  { cls: 'exact', query: 'river', target: /\briver\b/i },
  { cls: 'prefix', query: 'оста', target: /(^|\s)оста/i },
  { cls: 'prefix', query: 'bene', target: /\bbene/i },
  { cls: 'glued', query: 'site', target: /\bsite\b/i },
  { cls: 'glued', query: 'or', target: /\bor\b/i },
  { cls: 'glued', query: 'errors', target: /\berrors\b/i },
  { cls: 'glued', query: 'run', target: /\brun\b/i },
  { cls: 'glued', query: 'tjimenez@site.gmu.edu', target: /tjimenez@site\.gmu\.edu/i },
];
