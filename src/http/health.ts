import type { FastifyInstance } from 'fastify';
import type { MikroORM } from '../database/orm.ts';

/**
 * A database that stops answering makes the instance unready within this bound, rather than the
 * probe waiting behind a starved pool for a connection and a statement.
 */
export const READY_WITHIN_MS = 1_500;

/** `work`'s answer, or `late` when it has not settled within `ms` (the work itself goes on). */
export async function within<T>(work: Promise<T>, ms: number, late: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late), ms);
  });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Null when the database answers and is migrated, else why not. */
async function unreadiness(orm: MikroORM): Promise<string | null> {
  try {
    await orm.em.getConnection().execute('select 1');
    const pending = await orm.migrator.getPending();
    return pending.length > 0 ? `${pending.length} migrations pending` : null;
  } catch {
    return 'database unreachable';
  }
}

/** Liveness (the process answers) and readiness (the database answers in time and is migrated). */
export function registerHealthRoutes(app: FastifyInstance, orm: MikroORM): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reason = await within(unreadiness(orm), READY_WITHIN_MS, 'database not answering');
    if (reason !== null) return reply.code(503).send({ status: 'unavailable', reason });
    return { status: 'ready' };
  });
}
