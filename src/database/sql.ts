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
