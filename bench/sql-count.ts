import type pg from 'pg';

/**
 * The SQL statements PostgreSQL ran for a measured run, from the pg_stat_statements extension
 * (shipped with the embedded binaries; it must be in shared_preload_libraries, so run.ts sets that and
 * restarts the cluster once before seeding). Counting in the database rather than at the driver sees
 * every statement of the gateway's own process without a hook in its code: utility statements
 * (BEGIN, COMMIT, SAVEPOINT) included, nested statements of functions not. Statements of the
 * monitoring connection are left out by its role.
 */
export interface StatementStats {
  /** The normalized text: constants and parameters as $n. */
  query: string;
  calls: number;
  /** Mean execution time in the server, ms. */
  meanMs: number;
  rows: number;
}

export const MONITOR_ROLE = 'bench_monitor';

/** Run once as the superuser; the cluster must be restarted afterwards for the library to load. */
export async function preloadStatementStatistics(client: pg.ClientBase): Promise<void> {
  await client.query(`alter system set shared_preload_libraries = 'pg_stat_statements'`);
}

/** After the restart: the extension's view, and a role of its own for the connection that reads it. */
export async function createMonitor(client: pg.ClientBase, password: string): Promise<void> {
  await client.query('create extension if not exists pg_stat_statements');
  await client.query(`create role ${MONITOR_ROLE} login superuser password '${password.replaceAll("'", "''")}'`);
}

export class StatementCounter {
  readonly #client: pg.ClientBase;

  constructor(monitor: pg.ClientBase) {
    this.#client = monitor;
  }

  async reset(): Promise<void> {
    await this.#client.query('select pg_stat_statements_reset()');
  }

  /** Every statement since the last reset, most called first. */
  async read(): Promise<StatementStats[]> {
    const { rows } = await this.#client.query<{ query: string; calls: string; mean_exec_time: number; rows: string }>(
      `select "query", "calls", "mean_exec_time", "rows" from pg_stat_statements
       where "userid" <> (select "oid" from pg_roles where "rolname" = current_user)
       order by "calls" desc, "total_exec_time" desc`,
    );
    return rows.map((row) => ({ query: row.query, calls: Number(row.calls), meanMs: row.mean_exec_time, rows: Number(row.rows) }));
  }

  /**
   * The plan of a normalized statement as PostgreSQL would run it for any parameters (GENERIC_PLAN),
   * without running it. Null for a statement that has no plan (BEGIN, COMMIT, …).
   */
  async explain(query: string): Promise<string | null> {
    if (!/^\s*(select|insert|update|delete|with)\b/i.test(query)) return null;
    try {
      const { rows } = await this.#client.query<{ 'QUERY PLAN': string }>(`explain (generic_plan, costs off) ${query}`);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    } catch (error) {
      return `(no plan: ${error instanceof Error ? error.message : String(error)})`;
    }
  }
}

export function shapeOf(text: string, length = 90): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, length);
}
