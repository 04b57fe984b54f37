import pg from 'pg';

/**
 * Counts the SQL statements this process sends to PostgreSQL while `action` runs, at the driver
 * (every query of MikroORM and Kysely goes through pg.Client#query), so nothing can hide from it.
 */
export async function countStatements<T>(action: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const [first] = args;
    statements.push(typeof first === 'string' ? first : String((first as { text?: string })?.text ?? first));
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    return { result: await action(), statements };
  } finally {
    pg.Client.prototype.query = original;
  }
}
