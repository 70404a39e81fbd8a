import { AppError } from '@messenger/shared';
import type { Actor } from '../auth/actor.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import { isWellFormedId } from '../paging/ids.ts';
import type { ReadPosition } from '../schemas.ts';
import type { ChatAccess } from './chat-access.ts';
import type { ReadMarkersRepository } from './read-markers.repository.ts';

/** Read positions and unread counts: a member marks a chat read up to a message. */
export class ReadMarkersService {
  constructor(
    private readonly markers: ReadMarkersRepository,
    private readonly access: ChatAccess,
    private readonly events: EventPublisher,
  ) {}

  /** Moves the caller's read position forward; their other sessions get `chat.read`. */
  async markRead(actor: Actor, chatId: string, messageId: string, sessionId?: string): Promise<ReadPosition> {
    const userId = await this.access.requireActingMember(actor, chatId);
    const notFound = new AppError('message-not-found', `no message with id "${messageId}" in this chat`);
    if (!isWellFormedId(messageId)) throw notFound;
    const result = await this.markers.markRead(chatId, userId, messageId, (trx, position) =>
      this.events.append(trx, [
        {
          type: 'chat.read',
          chatId,
          data: { chat_id: chatId, user_id: userId, ...position },
          userIds: [userId],
          ...(sessionId !== undefined && { originSession: sessionId }),
        },
      ]),
    );
    if ('missing' in result) {
      if (result.missing === 'message') throw notFound;
      // Removed between the membership check and now.
      throw this.access.notAMember(chatId, userId);
    }
    if (result.moved) this.events.committed();
    return result.position;
  }
}
