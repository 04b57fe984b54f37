import type { FastifyInstance } from 'fastify';
import type { MikroORM } from '../database/orm.ts';

/** Liveness (the process answers) and readiness (the database answers and is migrated). */
export function registerHealthRoutes(app: FastifyInstance, orm: MikroORM): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await orm.em.getConnection().execute('select 1');
      const pending = await orm.migrator.getPending();
      if (pending.length > 0) return reply.code(503).send({ status: 'unavailable', reason: `${pending.length} migrations pending` });
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
    }
  });
}
