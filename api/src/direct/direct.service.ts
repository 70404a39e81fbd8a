import { AppError, type UserRow } from '@messenger/shared';
import type { AccountsRepository } from '../auth/accounts.repository.ts';
import type { Actor } from '../auth/actor.ts';
import type { ChatsRepository } from '../chats/chats.repository.ts';
import { chatCreatedEvent } from '../chats/chats.service.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import type { RecordReply, StoredReply } from '../idempotency/idempotency.ts';
import { toCachedPage, type CachedPage } from '../messages/history-cache.ts';
import type { MessagesService, Order } from '../messages/messages.service.ts';
import type { DirectMessageSent, MessagePage } from '../schemas.ts';

/**
 * Direct messages: a one-to-one chat per pair of users, created by the first message either sends.
 * Once it exists it is an ordinary chat (kind `direct`), posted to and read through MessagesService.
 */
export class DirectService {
  constructor(
    private readonly chats: ChatsRepository,
    private readonly accounts: AccountsRepository,
    private readonly messages: MessagesService,
    private readonly events: EventPublisher,
  ) {}

  /**
   * Sends a message to the pair's chat, creating it on the first one. `keyed` records an
   * Idempotency-Key with the message (MessagesService.post).
   */
  async send(
    actor: Actor,
    peerName: string,
    text: string,
    keyed?: { record: RecordReply; reply: (sent: DirectMessageSent) => StoredReply },
  ): Promise<DirectMessageSent> {
    const sender = actor.id;
    const peer = await this.peer(sender, peerName);
    const me = await this.accounts.findById(sender);
    if (!me) throw new AppError('user-not-found', `no user with id "${sender}"`);
    const chatId = await this.chats.findOrCreateDirect(
      directChatName(me, peer),
      sender,
      peer.id,
      async (trx, newChatId) =>
        this.events.append(trx, [await chatCreatedEvent(this.chats, trx, newChatId, [sender, peer.id])]),
    );
    this.events.committed();
    const messageId = await this.messages.post(
      actor,
      chatId,
      text,
      keyed && { record: keyed.record, reply: ([id]) => keyed.reply({ message_id: id!, chat_id: chatId }) },
    );
    return { message_id: messageId, chat_id: chatId };
  }

  async history(
    actor: Actor,
    peerName: string,
    limit: number,
    from: string | undefined,
    order: Order,
  ): Promise<CachedPage> {
    const reader = actor.id;
    const peer = await this.peer(reader, peerName);
    const chatId = await this.chats.findDirect(reader, peer.id);
    if (chatId === undefined) {
      // Nothing written yet: an empty conversation, not an error.
      const body: MessagePage = { messages: [] };
      return toCachedPage(body);
    }
    return this.messages.history(actor, chatId, limit, from, order);
  }

  /** The other person: 404 when there is no such user, 400 when it is the caller. */
  private async peer(callerId: string, peerName: string): Promise<UserRow> {
    const peer = await this.accounts.findByName(peerName);
    if (!peer) throw new AppError('user-not-found', `no user named "${peerName}"`);
    if (peer.id === callerId) {
      throw new AppError('bad-parameters', 'user_name is you: a direct message goes to someone else');
    }
    return peer;
  }
}

/** "alice & bob": both names, in a fixed order, within the 255 characters a chat name may have. */
function directChatName(a: UserRow, b: UserRow): string {
  return [a.user_name, b.user_name].sort().join(' & ').slice(0, 255);
}
