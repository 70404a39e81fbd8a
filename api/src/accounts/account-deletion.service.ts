import { AppError } from '@messenger/shared';
import type { Transaction } from 'kysely';
import type { DB } from '@messenger/shared';
import type { AuthService } from '../auth/auth.service.ts';
import type { Caller } from '../auth/caller.ts';
import type { ChatAccess } from '../chats/chat-access.ts';
import type { ChatsRepository } from '../chats/chats.repository.ts';
import type { NewEvent } from '../events/event-log.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import type { HistoryCache } from '../messages/history-cache.ts';
import type { AccountDeletionRepository } from './account-deletion.repository.ts';

/** A direct chat's name once one of its two members has deleted their account (it was their names). */
export const DELETED_DIRECT_CHAT_NAME = 'deleted user';

/**
 * Deleting an account (`DELETE /v1/users/me`): its sessions end at once on every instance, it
 * leaves every chat as a member who leaves would, its name, password and profile go, and its
 * messages stay, by an author without a name. All of it in one transaction, so an account is never
 * half deleted (a failure changes nothing and the password still works for a retry).
 */
export class AccountDeletionService {
  constructor(
    private readonly repository: AccountDeletionRepository,
    private readonly chats: ChatsRepository,
    private readonly auth: AuthService,
    private readonly access: ChatAccess,
    private readonly history: HistoryCache,
    private readonly events: EventPublisher,
    private readonly nameGraceDays: number,
  ) {}

  async delete(caller: Extract<Caller, { kind: 'session' }>, password: string): Promise<void> {
    const userId = caller.userId;
    await this.auth.requirePassword(userId, password);
    // The store first (as logout-all): no instance accepts a session of the account from then on,
    // and if the transaction fails, the sessions are given back and nothing has changed.
    const outcome = await this.auth.endAllSessionsWith(userId, () =>
      this.repository.transaction(async (trx) => {
        if (!(await this.repository.lockLive(trx, userId))) {
          throw new AppError('invalid-session-id', 'the account has been deleted');
        }
        const memberOf = await this.repository.memberChats(trx, userId);
        // Every chat row first, in id order, and only then the events: a post holds its chat's row
        // while it waits for the event log's writers' lock, which the first append here would hold.
        const locked = [];
        for (const chatId of memberOf) {
          const chat = await this.chats.lock(trx, chatId);
          if (chat) locked.push({ chatId, kind: chat.kind });
        }
        for (const { chatId, kind } of locked) await this.leave(trx, chatId, kind, userId);
        const left = locked.map((c) => c.chatId);
        const withMessages = await this.repository.chatsWithMessages(trx, userId);
        await this.repository.scrubEvents(trx, userId, [...new Set([...left, ...withMessages])]);
        const now = new Date();
        await this.repository.clearAccount(trx, userId, this.nameGraceDays > 0, now);
        const endedSessions = await this.repository.endSessions(trx, userId, now);
        return { left, withMessages, endedSessions };
      }),
    );
    this.events.committed();
    // Written through, as a member who leaves: every instance refuses the chats to them at once.
    await Promise.all(outcome.left.map((chatId) => this.access.remember(chatId, userId, false)));
    // Cached history pages carry the author's name.
    const stale = new Set([...outcome.left, ...outcome.withMessages]);
    await Promise.all([...stale].map((chatId) => this.history.invalidate(chatId)));
  }

  /**
   * Leaves one chat under its row's lock, as MembersService.removeUser does: the last owner hands
   * the chat to the longest-standing member, the last member deletes it. A direct chat stays with
   * the other member, renamed (its name was the two names). The chat's row is locked.
   */
  private async leave(
    trx: Transaction<DB>,
    chatId: string,
    kind: 'group' | 'direct',
    userId: string,
  ): Promise<void> {
    await this.chats.removeMember(trx, chatId, userId);
    const events: NewEvent[] = [
      {
        type: 'chat.member_removed',
        chatId,
        data: { chat_id: chatId, user_id: userId },
        userIds: [userId],
      },
      { type: 'user.deleted', chatId, data: { chat_id: chatId, user_id: userId } },
    ];
    const roster = await this.chats.roster(trx, chatId);
    if (roster.members === 0) {
      await this.chats.deleteChat(trx, chatId);
      await this.events.append(trx, events.slice(0, 1));
      return;
    }
    if (roster.owners === 0 && roster.longestStanding) {
      await this.chats.setRole(trx, chatId, roster.longestStanding, 'owner');
    }
    if (kind === 'direct') {
      const now = await this.chats.update(trx, chatId, { chatName: DELETED_DIRECT_CHAT_NAME });
      await this.repository.renameInEvents(trx, chatId, DELETED_DIRECT_CHAT_NAME);
      events.push({ type: 'chat.updated', chatId, data: { chat_id: chatId, ...now, updated_by: userId } });
    }
    await this.events.append(trx, events);
  }
}
