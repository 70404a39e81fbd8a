import { sql, type Kysely, type NotNull, type Transaction } from 'kysely';
import type { ChatRow, DB } from '@messenger/shared';

type Db = Kysely<DB> | Transaction<DB>;

export type Role = 'owner' | 'member';

export interface ChatListRow {
  id: string;
  chat_name: string;
  kind: 'group' | 'direct';
  topic: string | null;
  members_can_pin: boolean;
  created_at: Date;
  last_message_at: Date | null;
  activity_at: Date;
  member_count: number;
  last_message_id: string | null;
  last_message_user_id: string | null;
  last_message_user_name: string | null;
  last_message_text: string | null;
  last_message_created_at: Date | null;
  /** The reader's read position (migrations/0008); 0 and null for someone who is not a member. */
  unread_count: number;
  /** Of those, the ones that mention the reader (migrations/0009). */
  mention_count: number;
  last_read_message_id: string | null;
}

export interface MemberRow {
  user_id: string;
  user_name: string;
  role: Role;
  joined_at: Date;
}

/** What `PATCH /v1/chats/{chat_id}` may change; what is undefined stays as it is. */
export interface ChatChanges {
  chatName?: string;
  /** null clears the topic. */
  topic?: string | null;
  membersCanPin?: boolean;
}

/** How many characters of the newest message a chat list shows. */
export const PREVIEW_LENGTH = 100;

/** Chats and their members (`chats`, `chat_members`): creating, listing, membership and roles. */
export class ChatsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Runs `work` in one transaction; the repository's methods take the transaction it is handed. */
  transaction<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  findById(chatId: string): Promise<ChatRow | undefined> {
    return this.db.selectFrom('chats').selectAll().where('id', '=', chatId).executeTakeFirst();
  }

  /**
   * Locks the chat row until the transaction ends, so membership changes of one chat (leaving,
   * removing, the owner handover, deleting) happen one after another. Answers the chat's kind and
   * its settings.
   */
  async lock(
    trx: Transaction<DB>,
    chatId: string,
  ): Promise<{ kind: 'group' | 'direct'; members_can_pin: boolean } | undefined> {
    return trx
      .selectFrom('chats')
      .select(['kind', 'members_can_pin'])
      .where('id', '=', chatId)
      .forUpdate()
      .executeTakeFirst();
  }

  /** Changes what is given of the chat's name, topic and settings; answers them as they now are. */
  update(
    trx: Transaction<DB>,
    chatId: string,
    changes: ChatChanges,
  ): Promise<{ chat_name: string; topic: string | null; members_can_pin: boolean }> {
    return trx
      .updateTable('chats')
      .set({
        ...(changes.chatName !== undefined && { chat_name: changes.chatName }),
        ...(changes.topic !== undefined && { topic: changes.topic }),
        ...(changes.membersCanPin !== undefined && { members_can_pin: changes.membersCanPin }),
      })
      .where('id', '=', chatId)
      .returning(['chat_name', 'topic', 'members_can_pin'])
      .executeTakeFirstOrThrow();
  }

  /** Creates a chat and, when there is a creator, makes them its owner: both or neither. */
  create(
    chatName: string,
    creatorId: string | undefined,
    inTransaction: (trx: Transaction<DB>, chatId: string) => Promise<void>,
  ): Promise<ChatRow> {
    return this.db.transaction().execute(async (trx) => {
      const chat = await trx
        .insertInto('chats')
        .values({ chat_name: chatName, created_by: creatorId ?? null })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (creatorId) await this.addMember(trx, chat.id, creatorId, 'owner');
      await inTransaction(trx, chat.id);
      return chat;
    });
  }

  /**
   * The direct chat of two users, created with both as owners the first time: the unique
   * `direct_key` makes a concurrent creator wait for this one and then find its chat.
   */
  findOrCreateDirect(
    chatName: string,
    creatorId: string,
    peerId: string,
    onCreated: (trx: Transaction<DB>, chatId: string) => Promise<void>,
  ): Promise<string> {
    const directKey = directKeyOf(creatorId, peerId);
    return this.db.transaction().execute(async (trx) => {
      const created = await trx
        .insertInto('chats')
        .values({ chat_name: chatName, kind: 'direct', created_by: creatorId, direct_key: directKey })
        .onConflict((oc) => oc.column('direct_key').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (created) {
        await trx
          .insertInto('chat_members')
          .values([
            { chat_id: created.id, user_id: creatorId, role: 'owner' },
            { chat_id: created.id, user_id: peerId, role: 'owner' },
          ])
          .execute();
        await onCreated(trx, created.id);
        return created.id;
      }
      const existing = await trx
        .selectFrom('chats')
        .select('id')
        .where('direct_key', '=', directKey)
        .executeTakeFirstOrThrow();
      return existing.id;
    });
  }

  /** The id of the direct chat of two users, if they have one. */
  async findDirect(userA: string, userB: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('chats')
      .select('id')
      .where('direct_key', '=', directKeyOf(userA, userB))
      .executeTakeFirst();
    return row?.id;
  }

  /** The user's role in the chat now, outside any transaction; undefined when not a member. */
  currentRole(chatId: string, userId: string): Promise<Role | undefined> {
    return this.roleOf(this.db, chatId, userId);
  }

  /** The user's role in the chat, or undefined when they are not a member. */
  async roleOf(db: Db, chatId: string, userId: string): Promise<Role | undefined> {
    const row = await db
      .selectFrom('chat_members')
      .select('role')
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.role;
  }

  /** Adds a member; adding one who is already there changes nothing. */
  async addMember(db: Db, chatId: string, userId: string, role: Role = 'member'): Promise<boolean> {
    const added = await db
      .insertInto('chat_members')
      // What was written before they joined counts as read.
      .values({
        chat_id: chatId,
        user_id: userId,
        role,
        last_read_seq: sql<number>`(select last_message_seq from chats where id = ${chatId})`,
      })
      .onConflict((oc) => oc.columns(['chat_id', 'user_id']).doNothing())
      .returning('user_id')
      .executeTakeFirst();
    return added !== undefined;
  }

  /**
   * Adds a member to a chat that still exists; answers false when it is gone. The chat row is
   * locked first, as the foreign key check would lock it, so a delete of the chat running at the
   * same time either ends before (no chat: false) or waits for this insert, and never turns it into
   * a foreign key violation.
   */
  addMemberNow(
    chatId: string,
    userId: string,
    onAdded: (trx: Transaction<DB>) => Promise<void>,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const chat = await trx
        .selectFrom('chats')
        .select('id')
        .where('id', '=', chatId)
        .forKeyShare()
        .executeTakeFirst();
      if (!chat) return false;
      if (await this.addMember(trx, chatId, userId)) await onAdded(trx);
      return true;
    });
  }

  /** Removes a member; answers whether they were one. */
  async removeMember(trx: Transaction<DB>, chatId: string, userId: string): Promise<boolean> {
    const removed = await trx
      .deleteFrom('chat_members')
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .returning('user_id')
      .executeTakeFirst();
    return removed !== undefined;
  }

  /** Every member's id. */
  async memberIds(db: Db, chatId: string): Promise<string[]> {
    const rows = await db
      .selectFrom('chat_members')
      .select('user_id')
      .where('chat_id', '=', chatId)
      .execute();
    return rows.map((r) => r.user_id);
  }

  /** How many owners and members remain, and who has been a member longest. */
  async roster(
    trx: Transaction<DB>,
    chatId: string,
  ): Promise<{ members: number; owners: number; longestStanding: string | undefined }> {
    const counts = await trx
      .selectFrom('chat_members')
      .select((eb) => [
        eb.fn.countAll<number>().as('members'),
        eb.fn.countAll<number>().filterWhere('role', '=', 'owner').as('owners'),
      ])
      .where('chat_id', '=', chatId)
      .executeTakeFirstOrThrow();
    const first = await trx
      .selectFrom('chat_members')
      .select('user_id')
      .where('chat_id', '=', chatId)
      .orderBy('joined_at')
      .orderBy('user_id')
      .limit(1)
      .executeTakeFirst();
    return {
      members: Number(counts.members),
      owners: Number(counts.owners),
      longestStanding: first?.user_id,
    };
  }

  async setRole(trx: Transaction<DB>, chatId: string, userId: string, role: Role): Promise<void> {
    await trx
      .updateTable('chat_members')
      .set({ role })
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .execute();
  }

  /** Deletes the chat; its members and messages go with it (foreign keys `on delete cascade`). */
  async deleteChat(trx: Transaction<DB>, chatId: string): Promise<void> {
    await trx.deleteFrom('chats').where('id', '=', chatId).execute();
  }

  /** A page of the chat's members, longest-standing first; `after` is the last row of the page before. */
  members(
    chatId: string,
    limit: number,
    after: { joinedAt: Date; userId: string } | undefined,
  ): Promise<MemberRow[]> {
    // Milliseconds, as the iterator carries them (see listForUser).
    const joined = sql<Date>`date_trunc('milliseconds', cm.joined_at)`;
    let query = this.db
      .selectFrom('chat_members as cm')
      .innerJoin('users as u', 'u.id', 'cm.user_id')
      .select(['cm.user_id', 'u.user_name', 'cm.role', joined.as('joined_at')])
      // A deleted account (the only nameless one) has left every chat.
      .$narrowType<{ user_name: NotNull }>()
      .where('cm.chat_id', '=', chatId);
    if (after) {
      query = query.where(sql<boolean>`(${joined}, cm.user_id) > (${after.joinedAt}, ${after.userId})`);
    }
    return query.orderBy(joined).orderBy('cm.user_id').limit(limit).execute();
  }

  /** One chat as the list shows it, to `readerId` (for their read position). */
  async listRow(
    chatId: string,
    readerId: string | undefined,
    db: Db = this.db,
  ): Promise<ChatListRow | undefined> {
    return this.listQuery(db)
      .leftJoin('chat_members as m', (join) =>
        join.onRef('m.chat_id', '=', 'c.id').on('m.user_id', '=', readerId ?? null),
      )
      .select([
        (eb) => eb.fn.coalesce('m.unread_count', sql.lit(0)).as('unread_count'),
        (eb) => eb.fn.coalesce('m.mention_count', sql.lit(0)).as('mention_count'),
        'm.last_read_message_id',
      ])
      .where('c.id', '=', chatId)
      .executeTakeFirst();
  }

  /** A page of the user's chats, most recently active first; `after` is the last row of the page before. */
  listForUser(
    userId: string,
    limit: number,
    after: { activityAt: Date; chatId: string } | undefined,
  ): Promise<ChatListRow[]> {
    let query = this.listQuery(this.db)
      .innerJoin('chat_members as m', 'm.chat_id', 'c.id')
      .select(['m.unread_count', 'm.mention_count', 'm.last_read_message_id'])
      .where('m.user_id', '=', userId);
    if (after) {
      query = query.where(sql<boolean>`(${activity}, c.id) < (${after.activityAt}, ${after.chatId})`);
    }
    return query.orderBy(activity, 'desc').orderBy('c.id', 'desc').limit(limit).execute();
  }

  private listQuery(db: Db) {
    return db
      .selectFrom('chats as c')
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom('messages as lm')
            .innerJoin('users as lu', 'lu.id', 'lm.user_id')
            .select([
              'lm.id',
              'lm.user_id',
              'lu.user_name',
              sql<string>`left(lm.text, ${sql.lit(PREVIEW_LENGTH)})`.as('text'),
              'lm.created_at',
            ])
            .whereRef('lm.chat_id', '=', 'c.id')
            .orderBy('lm.seq', 'desc')
            .limit(1)
            .as('last'),
        (join) => join.onTrue(),
      )
      .select((eb) => [
        'c.id',
        'c.chat_name',
        'c.kind',
        'c.topic',
        'c.members_can_pin',
        'c.created_at',
        'c.last_message_at',
        activity.as('activity_at'),
        eb
          .selectFrom('chat_members as cm')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('cm.chat_id', '=', 'c.id')
          .$asScalar()
          .$notNull()
          .as('member_count'),
        'last.id as last_message_id',
        'last.user_id as last_message_user_id',
        'last.user_name as last_message_user_name',
        'last.text as last_message_text',
        'last.created_at as last_message_created_at',
      ]);
  }
}

// Milliseconds, as the iterator carries them (a JS Date): ordering and resuming on the same key
// keeps chats active within one millisecond from being skipped.
const activity = sql<Date>`date_trunc('milliseconds', coalesce(c.last_message_at, c.created_at))`;

/** A pair of users, in either order, as one key. */
export function directKeyOf(userA: string, userB: string): string {
  return [userA, userB].sort().join(':');
}
