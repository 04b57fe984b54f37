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
