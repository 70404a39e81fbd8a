import { AppError } from '@messenger/shared';
import type { AccountsRepository } from '../auth/accounts.repository.ts';
import type { Actor } from '../auth/actor.ts';
import type { InboxMessage } from '../schemas.ts';
import type { InboxRepository, InboxRow } from './inbox.repository.ts';

export interface InboxSettings {
  /** INBOX_MAX_RESULTS */
  maxResults: number;
  /** INBOX_MAX_AGE_DAYS */
  maxAgeDays: number;
}

const DAY_MS = 24 * 3600 * 1000;

/** The inbox: what others recently sent to the caller, across the caller's chats. */
export class InboxService {
  constructor(
    private readonly inbox: InboxRepository,
    private readonly accounts: AccountsRepository,
    private readonly settings: InboxSettings,
  ) {}

  async recent(
    actor: Actor,
    senderName: string | undefined,
    limit: number | undefined,
  ): Promise<{ messages: InboxMessage[] }> {
    const userId = actor.id;
    let senderId: string | undefined;
    if (senderName !== undefined) {
      const sender = await this.accounts.findByName(senderName);
      if (!sender) throw new AppError('user-not-found', `no user named "${senderName}"`);
      // The inbox holds what others sent: naming oneself narrows it to nothing.
      if (sender.id === userId) return { messages: [] };
      senderId = sender.id;
    }
    const rows = await this.inbox.recent({
      userId,
      ...(senderId !== undefined && { senderId }),
      since: new Date(Date.now() - this.settings.maxAgeDays * DAY_MS),
      limit: Math.min(limit ?? this.settings.maxResults, this.settings.maxResults),
    });
    return { messages: rows.map(toInboxMessage) };
  }
}

function toInboxMessage(row: InboxRow): InboxMessage {
  return {
    message_id: row.id,
    chat_id: row.chat_id,
    chat_name: row.chat_name,
    user_id: row.user_id,
    user_name: row.user_name,
    text: row.text,
    created_at: new Date(row.created_at).toISOString(),
  };
}
