/**
 * How the web client merges what it reads and what arrives live (web/src/merge.ts): a message id
 * shows at most once, in history order, whatever order pages and events come in.
 */
import { expect } from 'chai';
import type { components } from '../../src/generated/openapi.ts';
import { mergeLoaded, prepend, upsert } from '../../../web/src/merge.ts';

type Message = components['schemas']['Message'];

function message(id: string, text = `text ${id}`): Message {
  return {
    message_id: id,
    chat_id: 'c',
    user_id: 'u',
    user_name: 'alice',
    text,
    created_at: '2026-12-03T12:00:00.000Z',
    reply_to: null,
    reply_count: 0,
    last_reply_at: null,
    reactions: [],
    mentions: [],
  };
}
const ids = (messages: Message[]) => messages.map((m) => m.message_id);

describe('the web client’s message merging', () => {
  it('adds a new message at the end, and replaces one already shown where it is', () => {
    const shown = [message('1'), message('2')];
    expect(ids(upsert(shown, message('3')))).to.deep.equal(['1', '2', '3']);
    const edited = upsert(shown, message('1', 'edited'));
    expect(ids(edited)).to.deep.equal(['1', '2']);
    expect(edited[0]!.text).to.equal('edited');
    // The same event twice (a replay after a reconnect) shows once.
    expect(ids(upsert(upsert(shown, message('3')), message('3')))).to.deep.equal(['1', '2', '3']);
    expect(ids(shown)).to.deep.equal(['1', '2']);
  });

  it('puts an older page before what is shown, without repeating a message', () => {
    expect(
      ids(prepend([message('3'), message('4')], [message('1'), message('2'), message('3')])),
    ).to.deep.equal(['1', '2', '3', '4']);
  });

  it('merges a freshly read run with what changed while it loaded: created, edited, deleted', () => {
    const loaded = [message('1'), message('2'), message('3')];
    const live = [message('3'), message('2', 'edited'), message('4')];
    const merged = mergeLoaded(loaded, live, new Set(['1']));
    expect(ids(merged)).to.deep.equal(['2', '3', '4']);
    expect(merged[0]!.text).to.equal('edited');
    expect(ids(mergeLoaded(loaded, [], new Set()))).to.deep.equal(['1', '2', '3']);
  });
});
