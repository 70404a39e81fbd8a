import { Readable } from 'node:stream';
import type { Actor } from '../auth/actor.ts';
import type { Attachment, UserProfile } from '../schemas.ts';
import type { UsersService } from '../users/users.service.ts';
import type { AccountExportRepository } from './account-export.repository.ts';

/** Rows read per query: memory stays bounded by this, whatever the account holds. */
export const EXPORT_BATCH = 500;

/**
 * `GET /v1/users/me/export`: the caller's profile, chats and messages as one JSON document
 * (openapi.yaml, AccountExport), written as it is read, batch by batch, so that an account with a
 * million messages costs the server one batch of memory, not the whole document.
 */
export class AccountExportService {
  constructor(
    private readonly repository: AccountExportRepository,
    private readonly users: UsersService,
    private readonly batch = EXPORT_BATCH,
  ) {}

  /**
   * The document as a stream. The profile is read before it starts, so an unknown user or a
   * database that does not answer is still a proper error response; a failure later cuts the
   * stream (the status line has gone).
   */
  async export(actor: Actor): Promise<{ userId: string; body: Readable }> {
    const profile = await this.users.me(actor);
    // One chunk (one batch) ahead at most: the reader's pace is the database's.
    return {
      userId: profile.user_id,
      body: Readable.from(this.document(profile), { objectMode: true, highWaterMark: 1 }),
    };
  }

  private async *document(profile: UserProfile): AsyncGenerator<string> {
    const userId = profile.user_id;
    yield `{"exported_at":${JSON.stringify(new Date().toISOString())},"profile":${JSON.stringify(profile)},"chats":[`;
    let first = true;
    for (let after: string | undefined; ;) {
      const rows = await this.repository.chats(userId, after, this.batch);
      const chunk = rows.map((r) =>
        JSON.stringify({
          chat_id: r.chat_id,
          chat_name: r.chat_name,
          kind: r.kind,
          topic: r.topic,
          created_at: new Date(r.created_at).toISOString(),
          role: r.role,
          joined_at: new Date(r.joined_at).toISOString(),
        }),
      );
      if (chunk.length > 0) yield (first ? '' : ',') + chunk.join(',');
      first &&= chunk.length === 0;
      if (rows.length < this.batch) break;
      after = rows.at(-1)!.chat_id;
    }
    yield '],"messages":[';
    first = true;
    for (let after: { chatId: string; seq: number } | undefined; ;) {
      const rows = await this.repository.messages(userId, after, this.batch);
      const chunk = rows.map((r) =>
        JSON.stringify({
          message_id: r.id,
          chat_id: r.chat_id,
          text: r.text,
          created_at: new Date(r.created_at).toISOString(),
          edited_at: r.edited_at ? new Date(r.edited_at).toISOString() : null,
          attachments: r.attachments as Attachment[],
        }),
      );
      if (chunk.length > 0) yield (first ? '' : ',') + chunk.join(',');
      first &&= chunk.length === 0;
      if (rows.length < this.batch) break;
      const last = rows.at(-1)!;
      after = { chatId: last.chat_id, seq: Number(last.seq) };
    }
    yield ']}';
  }
}
