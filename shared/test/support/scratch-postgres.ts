import { sql } from 'kysely';
import { connectDatabase, loadConfig, type Database } from '../../src/index.ts';
import { uniqueTag } from './real-services.ts';

/**
 * Fresh PostgreSQL databases for one suite, on the server `url` names: each `create()` makes a new,
 * empty database with a unique name; `dispose()` closes every handle opened through it and drops
 * every database it made, so a run leaves nothing behind.
 */
export class ScratchPostgres {
  private readonly created: string[] = [];
  private readonly opened: Database[] = [];

  private constructor(
    private readonly url: string,
    private readonly prefix: string,
    private readonly admin: Database,
  ) {}

  static async connect(url: string, prefix: string): Promise<ScratchPostgres> {
    return new ScratchPostgres(url, prefix, await openPostgres(withDatabaseName(url, 'postgres')));
  }

  /** A new empty database; answers its URL. */
  async create(): Promise<string> {
    const name = `${this.prefix}_${uniqueTag()}`;
    await sql`create database ${sql.id(name)}`.execute(this.admin.db);
    this.created.push(name);
    return withDatabaseName(this.url, name);
  }

  /** Opens a database (closed by dispose()). */
  async open(url: string): Promise<Database> {
    const database = await openPostgres(url);
    this.opened.push(database);
    return database;
  }

  async dispose(): Promise<void> {
    try {
      for (const database of this.opened.splice(0)) await database.close();
      for (const name of this.created.splice(0)) {
        await sql`drop database if exists ${sql.id(name)} with (force)`.execute(this.admin.db);
      }
    } finally {
      await this.admin.close();
    }
  }
}

function openPostgres(url: string): Promise<Database> {
  return connectDatabase(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '4' }));
}

function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
