import type { EntityManager } from '@mikro-orm/postgresql';
import type { RawBuilder } from 'kysely';

export { sql } from 'kysely';

/**
 * Runs a hand-written statement with real bind parameters (arrays travel as PostgreSQL arrays)
 * on the EntityManager's connection, inside its transaction when it has one.
 */
export async function query<Row>(em: EntityManager, statement: RawBuilder<Row>): Promise<Row[]> {
  const result = await statement.execute(em.getKysely());
  return [...result.rows];
}

/**
 * A timestamp column as the driver returns it (text), as a Date. MikroORM's parser reads every year
 * 0001–9999; JavaScript's own would read "0044-03-15 …" as 2044.
 */
export function readTimestamp(em: EntityManager, value: string | Date): Date {
  return value instanceof Date ? value : em.getPlatform().parseDate(value);
}
