import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

/** The statements of the HTTP request being handled, when there is one (run.ts enters it per request). */
export const requestStatements = new AsyncLocalStorage<{ statements: number }>();

/**
 * Counts the SQL statements this process sends to PostgreSQL, at the driver: every query of
 * MikroORM and Kysely (the gateway) and of the floor's pg.Pool goes through pg.Client#query, as in
 * test/helpers/sql-counter.ts. Unlike that helper it keeps no statement texts (which would weigh on
 * the memory figures), only counts: in all, per HTTP request (requestStatements), and a bounded
 * tally of statement shapes for the report.
 */
export interface SqlCounter {
  /** Statements since the last reset. */
  readonly count: number;
  /** The most frequent statement shapes since the last reset (first words), most frequent first. */
  shapes(limit?: number): { shape: string; count: number }[];
  reset(): void;
  uninstall(): void;
}

const MAX_SHAPES = 200;

function shapeOf(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 90);
}

export function installSqlCounter(): SqlCounter {
  let count = 0;
  let shapes = new Map<string, number>();
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    count += 1;
    const request = requestStatements.getStore();
    if (request) request.statements += 1;
    const [first] = args;
    const text = typeof first === 'string' ? first : String((first as { text?: string } | null)?.text ?? '');
    const shape = shapeOf(text);
    const seen = shapes.get(shape);
    if (seen !== undefined) shapes.set(shape, seen + 1);
    else if (shapes.size < MAX_SHAPES) shapes.set(shape, 1);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  return {
    get count() {
      return count;
    },
    shapes(limit = 10) {
      return [...shapes].map(([shape, n]) => ({ shape, count: n })).sort((a, b) => b.count - a.count).slice(0, limit);
    },
    reset() {
      count = 0;
      shapes = new Map();
    },
    uninstall() {
      pg.Client.prototype.query = original;
    },
  };
}
