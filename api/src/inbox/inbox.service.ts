import { AppError } from '@messenger/shared';
import type { ActingUser } from '../auth/acting-user.ts';
import type { Caller } from '../auth/caller.ts';
import type { UsersRepository } from '../auth/users.repository.ts';
import type { InboxRepository, InboxRow } from './inbox.repository.ts';

export interface InboxSettings {
  /** INBOX_MAX_RESULTS */
  maxResults: number;
  /** INBOX_MAX_AGE_DAYS */
  maxAgeDays: number;
}

export interface InboxMessage {
  message_id: string;
  chat_id: string;
  chat_name: string;
  user_id: string;
  user_name: string;
  text: string;
  created_at: string;
}

const DAY_MS = 24 * 3600 * 1000;

/** The inbox: what others recently sent to the caller, across the caller's chats. */
export class InboxService {
  constructor(
    private readonly inbox: InboxRepository,
    private readonly users: UsersRepository,
    private readonly actingUser: ActingUser,
    private readonly settings: InboxSettings,
  ) {}

  async recent(
    caller: Caller,
    userIdParam: string | undefined,
    senderName: string | undefined,
    limit: number | undefined,
  ): Promise<{ messages: InboxMessage[] }> {
    const userId = await this.actingUser.resolve(caller, userIdParam, true);
    let senderId: string | undefined;
    if (senderName !== undefined) {
      const sender = await this.users.findByName(senderName);
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
