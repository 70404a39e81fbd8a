import type { Store } from '@messenger/shared';
import type { AccountsRepository } from '../auth/accounts.repository.ts';
import type { Actor } from '../auth/actor.ts';
import type { ChatAccess } from '../chats/chat-access.ts';
import type { TypingEvent } from '../schemas.ts';

/**
 * "Someone is typing": relayed to the chat's other members on every instance, never logged. A
 * client repeats it while its user types; repeats within the interval are not sent again.
 */
export class TypingService {
  constructor(
    private readonly access: ChatAccess,
    private readonly accounts: AccountsRepository,
    private readonly store: Store,
    private readonly relay: (event: TypingEvent) => Promise<void>,
    private readonly intervalSeconds: number,
  ) {}

  async typing(actor: Actor, chatId: string): Promise<void> {
    const userId = await this.access.requireActingMember(actor, chatId);
    if (!(await this.store.setIfAbsent(`typing:${chatId}:${userId}`, '1', this.intervalSeconds))) return;
    const user = await this.accounts.findById(userId);
    if (!user?.user_name) return;
    await this.relay({ chat_id: chatId, user_id: userId, user_name: user.user_name });
  }
}
