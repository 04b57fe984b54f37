import pg from 'pg';

/** A statement as the driver received it: its text and its parameters. */
export interface SentStatement {
  text: string;
  values: unknown[];
}

/** Reads a call of pg.Client#query: (text, values) or a query config ({ text, values, name }). */
function sentStatement(args: unknown[]): SentStatement {
  const [first, second] = args;
  const values = Array.isArray(second) ? second : [];
  if (typeof first === 'string') return { text: first, values };
  if (typeof first === 'object' && first !== null && 'text' in first) {
    return { text: String(first.text), values: 'values' in first && Array.isArray(first.values) ? first.values : values };
  }
  return { text: String(first), values };
}

/**
 * Captures the SQL statements this process sends to PostgreSQL while `action` runs, with their
 * parameters, at the driver (every query of MikroORM and Kysely goes through pg.Client#query), so
 * nothing can hide from it.
 */
export async function captureStatements<T>(action: () => Promise<T>): Promise<{ result: T; statements: SentStatement[] }> {
  const statements: SentStatement[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements.push(sentStatement(args));
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    return { result: await action(), statements };
  } finally {
    pg.Client.prototype.query = original;
  }
}

/** The texts of the statements this process sends while `action` runs (see captureStatements). */
export async function countStatements<T>(action: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const { result, statements } = await captureStatements(action);
  return { result, statements: statements.map((statement) => statement.text) };
}
