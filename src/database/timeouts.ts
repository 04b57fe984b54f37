import pg from 'pg';
import { statementName } from './prepared-statements.ts';

/**
 * How long the request path waits for PostgreSQL (SPEC §5: every request answers within 5 s; a
 * database that stops answering is DATABASE_UNAVAILABLE). A stalled server still completes TCP
 * handshakes, so only client-side timers notice it; the server-side ones bound slow statements
 * while it runs. The first timeout fails the request: the rollback that follows finds its
 * connection already closed, and GraphQL runs no further mutation after a failed one (their
 * fields are non-null). So a request waits at most acquire + answer = 4 s.
 */
export const DATABASE_TIMEOUTS = {
  /** Waiting for a free pooled connection, or for a new connection's handshake (pg-pool uses it for both). */
  acquireMs: 1_500,
  /** Server side: a statement running longer is cancelled (57014) and the connection stays usable. */
  statementMs: 2_000,
  /** Client side: a statement without an answer by then means the server stopped answering. */
  answerMs: 2_500,
  /** Server side: a transaction left idle this long (a stalled process) releases its locks. */
  idleInTransactionMs: 5_000,
} as const;

/**
 * pg's query_timeout fails a statement, but leaves the connection waiting for the answer, which may
 * still come; the pool would hand it out again and the next statement would queue behind the
 * stale one, or run inside its transaction (node-postgres issue #3399). Such a connection is
 * closed instead, so the pool drops it and opens a fresh one when needed. Statements marked as
 * prepared go by name (prepared-statements.ts).
 */
export class DatabaseClient extends pg.Client {
  /** The statements this connection has been sent by name (prepared-statements.ts). */
  readonly #named = new Set<string>();

  // biome-ignore lint/suspicious/noExplicitAny: one signature for all of pg's query() overloads, each passed through unchanged
  override query(...args: any[]): any {
    const [text, values] = args;
    const name = args.length === 2 && typeof text === 'string' && Array.isArray(values) && values.length > 0 ? statementName(text, this.#named) : null;
    const result = name === null ? Reflect.apply(super.query, this, args) : super.query({ name, text, values });
    // Kysely, hence MikroORM, uses the promise form.
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      if (isAnswerTimeout(error)) void this.end();
      throw error;
    });
  }
}

function isAnswerTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Query read timeout';
}

/** The pg Pool options of every MikroORM instance of the request path. */
export const boundedDriverOptions = {
  Client: DatabaseClient,
  connectionTimeoutMillis: DATABASE_TIMEOUTS.acquireMs,
  query_timeout: DATABASE_TIMEOUTS.answerMs,
  statement_timeout: DATABASE_TIMEOUTS.statementMs,
  idle_in_transaction_session_timeout: DATABASE_TIMEOUTS.idleInTransactionMs,
};
