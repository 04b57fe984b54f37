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

/** The decimal number written in value[from, to), NaN when a character there is not a digit. */
function digitsAt(value: string, from: number, to: number): number {
  let number = 0;
  for (let index = from; index < to; index++) {
    const digit = value.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    number = number * 10 + digit;
  }
  return number;
}

/**
 * PostgreSQL's text of a timestamptz in a UTC session, "2025-03-14 09:26:53.123456+00", read without
 * a regular expression: a page of records has hundreds of them, and the general parser's matches were
 * a tenth of what a read allocated. Null for any other form.
 */
function readUtcTimestamp(value: string): Date | null {
  const { length } = value;
  const utc = value.endsWith('+00') && value[4] === '-' && value[7] === '-' && value[10] === ' ' && value[13] === ':' && value[16] === ':';
  if (!utc || length < 22 || length > 29 || (length > 22 && (value[19] !== '.' || length === 23))) return null;
  let milliseconds = length > 22 ? digitsAt(value, 20, Math.min(23, length - 3)) : 0;
  for (let digits = length - 23; digits < 3; digits++) milliseconds *= 10;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, takes years 0–99 as written.
  date.setUTCFullYear(digitsAt(value, 0, 4), digitsAt(value, 5, 7) - 1, digitsAt(value, 8, 10));
  date.setUTCHours(digitsAt(value, 11, 13), digitsAt(value, 14, 16), digitsAt(value, 17, 19), milliseconds);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * A timestamp column as the driver returns it (text), as a Date. MikroORM's parser, for any form but
 * the usual one, reads every year 0001–9999; JavaScript's own would read "0044-03-15 …" as 2044.
 */
export function readTimestamp(em: EntityManager, value: string | Date): Date {
  if (value instanceof Date) return value;
  return readUtcTimestamp(value) ?? em.getPlatform().parseDate(value);
}
