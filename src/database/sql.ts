import type { EntityManager } from '@mikro-orm/postgresql';
import { type RawBuilder, sql } from 'kysely';
import { PREPARED_MARK } from './prepared-statements.ts';

export { sql };

/**
 * Runs a hand-written statement with real bind parameters (arrays travel as PostgreSQL arrays)
 * on the EntityManager's connection, inside its transaction when it has one. A `prepared`
 * statement is sent by name, parsed once per connection and planned generically
 * (prepared-statements.ts says which statements may be).
 */
export async function query<Row>(em: EntityManager, statement: RawBuilder<Row>, options: { prepared?: boolean } = {}): Promise<Row[]> {
  const sent = options.prepared ? sql<Row>`${sql.raw(PREPARED_MARK)}${statement}` : statement;
  const result = await sent.execute(em.getKysely());
  return [...result.rows];
}

/**
 * A timestamp column as the driver returns it (text), as a Date. MikroORM's parser reads every year
 * 0001–9999; JavaScript's own would read "0044-03-15 …" as 2044.
 */
export function readTimestamp(em: EntityManager, value: string | Date): Date {
  return value instanceof Date ? value : em.getPlatform().parseDate(value);
}
