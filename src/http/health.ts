import type { FastifyInstance } from 'fastify';
import type { MikroORM } from '../database/orm.ts';

/**
 * A database that stops answering makes the instance unready within this bound, rather than the
 * probe waiting behind a starved pool for a connection and a statement.
 */
const READY_WITHIN_MS = 1_500;

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
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('database not answering'), READY_WITHIN_MS);
    });
    const reason = await Promise.race([unreadiness(orm), timedOut]);
    clearTimeout(timer);
    if (reason !== null) return reply.code(503).send({ status: 'unavailable', reason });
    return { status: 'ready' };
  });
}
