import { AppError, type DB } from '@messenger/shared';
import type { Kysely, Transaction } from 'kysely';
import type { Actor } from '../auth/actor.ts';
import type { ChatAccess } from '../chats/chat-access.ts';
import type { ChatsRepository } from '../chats/chats.repository.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import type { MessagesRepository } from '../messages/messages.repository.ts';
import { toMessage } from '../messages/messages.service.ts';
import { isWellFormedId } from '../paging/ids.ts';
import type { Pin, PinList } from '../schemas.ts';
import type { PinRow, PinsRepository } from './pins.repository.ts';

/** How many messages a chat may have pinned (openapi.yaml, PUT /v1/chats/{chat_id}/pins/{message_id}). */
export const MAX_PINS = 50;

/**
 * Pinned messages: owners pin and unpin, and every member where the chat's `members_can_pin` is
 * set. Pinning and unpinning run under the chat row's lock, so the cap holds under concurrent pins
 * and a change of `members_can_pin` is seen by the next pin. A deleted message's pin goes with it
 * (the foreign key cascades).
 */
export class PinsService {
  constructor(
    private readonly pins: PinsRepository,
    private readonly chats: ChatsRepository,
    private readonly messages: MessagesRepository,
    private readonly access: ChatAccess,
    private readonly events: EventPublisher,
  ) {}

  async list(actor: Actor, chatId: string): Promise<PinList> {
    await this.access.requireActingMember(actor, chatId);
    const rows = await this.pins.list(chatId, MAX_PINS);
    return { pins: await this.views(this.messagesDb(), chatId, rows, actor.idIfNamed) };
  }

  /** Pins the message; pinning a pinned one changes nothing. Answers the pin. */
  async pin(actor: Actor, chatId: string, messageId: string): Promise<Pin> {
    const actorId = await this.access.requireActingMember(actor, chatId);
    let created = false;
    const pin = await this.pins.transaction(async (trx) => {
      await this.requirePinner(trx, chatId, actorId);
      if (!isWellFormedId(messageId) || !(await this.pins.messageInChat(trx, chatId, messageId))) {
        throw messageNotFound(messageId);
      }
      const existing = await this.pins.find(trx, chatId, messageId);
      if (existing) return (await this.views(trx, chatId, [existing], actorId))[0]!;
      if ((await this.pins.count(trx, chatId)) >= MAX_PINS) {
        throw new AppError(
          'too-many-pins',
          `a chat holds at most ${MAX_PINS} pinned messages; unpin one first`,
        );
      }
      const row = await this.pins.insert(trx, chatId, messageId, actorId);
      // The event is the same for every member, so its reactions carry `me: false`, as
      // message.created's do; the answer is the pinner's view.
      const shared = (await this.views(trx, chatId, [row], undefined))[0]!;
      await this.events.append(trx, [
        { type: 'chat.pinned', chatId, data: { chat_id: chatId, pin: shared } },
      ]);
      created = true;
      return (await this.views(trx, chatId, [row], actorId))[0]!;
    });
    if (created) this.events.committed();
    return pin;
  }

  /** Unpins the message; unpinning one that is not pinned changes nothing. */
  async unpin(actor: Actor, chatId: string, messageId: string): Promise<void> {
    const actorId = await this.access.requireActingMember(actor, chatId);
    const removed = await this.pins.transaction(async (trx) => {
      await this.requirePinner(trx, chatId, actorId);
      if (!isWellFormedId(messageId) || !(await this.pins.messageInChat(trx, chatId, messageId))) {
        throw messageNotFound(messageId);
      }
      if (!(await this.pins.remove(trx, chatId, messageId))) return false;
      await this.events.append(trx, [
        { type: 'chat.unpinned', chatId, data: { chat_id: chatId, message_id: messageId } },
      ]);
      return true;
    });
    if (removed) this.events.committed();
  }

  /** Locks the chat and checks that the actor may pin in it now. */
  private async requirePinner(trx: Transaction<DB>, chatId: string, actorId: string): Promise<void> {
    const chat = await this.chats.lock(trx, chatId);
    if (!chat) throw new AppError('chat-not-found', `no chat with id "${chatId}"`);
    const role = await this.chats.roleOf(trx, chatId, actorId);
    if (!role) throw this.access.notAMember(chatId, actorId);
    if (role !== 'owner' && !chat.members_can_pin) {
      throw new AppError('forbidden', 'only an owner may pin messages in this chat');
    }
  }

  /** The pins with their messages as the history shows them to `viewer`, in the order given. */
  private async views(
    db: Kysely<DB> | Transaction<DB>,
    chatId: string,
    rows: PinRow[],
    viewer: string | undefined,
  ): Promise<Pin[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.message_id);
    const messages = new Map((await this.messages.views(db, ids, viewer)).map((m) => [m.id, toMessage(m)]));
    // A message deleted between the two reads has lost its pin too: leave it out.
    return rows.flatMap((r) => {
      const message = messages.get(r.message_id);
      return message
        ? [
            {
              chat_id: chatId,
              message,
              pinned_by: r.pinned_by,
              pinned_at: new Date(r.pinned_at).toISOString(),
            },
          ]
        : [];
    });
  }

  private messagesDb(): Kysely<DB> {
    return this.messages.database;
  }
}

const messageNotFound = (messageId: string) =>
  new AppError('message-not-found', `no message with id "${messageId}" in this chat`);
