import pg from 'pg';
import type { MikroORM } from '../../src/database/orm.ts';

/** The tables that hold an organization's data (SPEC §10: every one carries organization_id). */
export const TENANT_TABLES = ['feedback_source', 'person', 'company', 'feedback_record', 'idempotency_key', 'api_key', 'webhook_endpoint', 'webhook_event', 'webhook_delivery'] as const;

/** Runs SQL (`?` placeholders) on the server's own database, outside any request. */
export async function rows<Row = Record<string, unknown>>(orm: MikroORM, text: string, params: unknown[] = []): Promise<Row[]> {
  return (await orm.em.getConnection().execute(text, params)) as Row[];
}

/** Every row an organization owns, table by table, ordered by id: to prove nothing of it changed. */
export async function organizationSnapshot(orm: MikroORM, organizationId: string): Promise<Record<string, unknown[]>> {
  const snapshot: Record<string, unknown[]> = {};
  for (const table of TENANT_TABLES) snapshot[table] = await rows(orm, `select * from "${table}" where "organization_id" = ? order by "id"`, [organizationId]);
  snapshot.organization = await rows(orm, 'select * from "organization" where "id" = ?', [organizationId]);
  return snapshot;
}

/** How many rows each table holds. */
export async function rowCounts(orm: MikroORM): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of [...TENANT_TABLES, 'organization']) {
    const [row] = await rows<{ count: string }>(orm, `select count(*) as "count" from "${table}"`);
    counts[table] = Number(row?.count);
  }
  return counts;
}

/** The API key and organization ids behind a token, found by its hash as the server finds them. */
export async function keyOf(orm: MikroORM, tokenHash: string): Promise<{ apiKeyId: string; organizationId: string }> {
  const [row] = await rows<{ id: string; organization_id: string }>(orm, 'select "id", "organization_id" from "api_key" where "token_hash" = ?', [tokenHash]);
  if (!row) throw new Error('no API key has this hash');
  return { apiKeyId: String(row.id), organizationId: String(row.organization_id) };
}

/**
 * Runs SQL on a test database through a connection of its own, e.g. to create or drop a trigger, or
 * on the database of a server running as its own process.
 */
export async function runSql<Row extends pg.QueryResultRow = pg.QueryResultRow>(databaseUrl: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Makes every record insert of a test database wait, inside its transaction, while the test holds an
 * advisory lock: a trigger takes the lock before each insert. `hold()` takes it, `release()` lets the
 * waiting inserts go on, `waiting()` counts the inserts (of this database only) waiting for it.
 */
export interface HeldInserts {
  hold(): Promise<void>;
  release(): Promise<void>;
  waiting(): Promise<number>;
  /** Releases, drops the trigger and closes the holding connection. */
  close(): Promise<void>;
}

export async function holdRecordInserts(databaseUrl: string, lock: readonly [number, number]): Promise<HeldInserts> {
  const [a, b] = lock;
  await runSql(
    databaseUrl,
    `create or replace function hold_feedback_record() returns trigger language plpgsql as $$
       begin perform pg_advisory_lock(${a}, ${b}); perform pg_advisory_unlock(${a}, ${b}); return new; end $$;
     create or replace trigger hold_feedback_record before insert on feedback_record for each row execute function hold_feedback_record();`,
  );
  const holder = new pg.Client({ connectionString: databaseUrl });
  await holder.connect();
  const release = async () => {
    await holder.query('select pg_advisory_unlock_all()');
  };
  return {
    hold: async () => {
      await holder.query('select pg_advisory_lock($1, $2)', [a, b]);
    },
    release,
    async waiting() {
      const [row] = await runSql<{ count: string }>(
        databaseUrl,
        `select count(*) as count from pg_locks where locktype = 'advisory' and not granted
           and database = (select oid from pg_database where datname = current_database())`,
      );
      return Number(row?.count);
    },
    async close() {
      await release();
      await holder.end();
      await runSql(databaseUrl, 'drop trigger if exists hold_feedback_record on feedback_record');
    },
  };
}
