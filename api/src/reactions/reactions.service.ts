import { AppError } from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import type { ChatAccess } from '../chats/chat-access.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import type { HistoryCache } from '../messages/history-cache.ts';
import { isWellFormedId } from '../paging/ids.ts';
import type { MessageReactions } from '../schemas.ts';
import { canonicalEmoji, MAX_DISTINCT_REACTIONS } from './emoji.ts';
import type { ReactionChange, ReactionsRepository } from './reactions.repository.ts';

/** The rules of reacting: members only, one reaction per user and emoji, 20 distinct emoji. */
export class ReactionsService {
  constructor(
    private readonly reactions: ReactionsRepository,
    private readonly access: ChatAccess,
    private readonly cache: HistoryCache,
    private readonly events: EventPublisher,
  ) {}

  /** The caller reacts; reacting twice counts once. Answers the reactions as the caller sees them. */
  async add(actor: Actor, chatId: string, messageId: string, rawEmoji: string): Promise<MessageReactions> {
    const emoji = canonicalEmoji(rawEmoji);
    const userId = await this.access.requireActingMember(actor, chatId);
    if (!isWellFormedId(messageId)) throw messageNotFound(messageId);
    const result = await this.reactions.add(
      chatId,
      messageId,
      userId,
      emoji,
      MAX_DISTINCT_REACTIONS,
      (trx, count) =>
        this.events.append(trx, [
          {
            type: 'reaction.added',
            chatId,
            data: { chat_id: chatId, message_id: messageId, emoji, user_id: userId, count },
          },
        ]),
    );
    return this.settle(chatId, messageId, userId, result);
  }

  /** The caller takes their reaction back; one they do not have changes nothing. */
  async remove(actor: Actor, chatId: string, messageId: string, rawEmoji: string): Promise<MessageReactions> {
    const emoji = canonicalEmoji(rawEmoji);
    const userId = await this.access.requireActingMember(actor, chatId);
    if (!isWellFormedId(messageId)) throw messageNotFound(messageId);
    const result = await this.reactions.remove(chatId, messageId, userId, emoji, (trx, count) =>
      this.events.append(trx, [
        {
          type: 'reaction.removed',
          chatId,
          data: { chat_id: chatId, message_id: messageId, emoji, user_id: userId, count },
        },
      ]),
    );
    return this.settle(chatId, messageId, userId, result);
  }

  private async settle(
    chatId: string,
    messageId: string,
    userId: string,
    result: ReactionChange,
  ): Promise<MessageReactions> {
    if ('missing' in result) throw messageNotFound(messageId);
    if ('tooMany' in result) {
      throw new AppError(
        'too-many-reactions',
        `a message has at most ${MAX_DISTINCT_REACTIONS} distinct reactions: join one of them`,
      );
    }
    if (result.changed) {
      this.events.committed();
      // Before the answer: no history read that starts after it may show the old counts.
      await this.cache.invalidate(chatId);
    }
    return {
      chat_id: chatId,
      message_id: messageId,
      reactions: await this.reactions.list(messageId, userId),
    };
  }
}

const messageNotFound = (messageId: string) =>
  new AppError('message-not-found', `no message with id "${messageId}" in this chat`);
