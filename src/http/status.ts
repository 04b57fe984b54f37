import accepts from '@fastify/accepts';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import packageJson from '../../package.json' with { type: 'json' };
import type { MikroORM } from '../database/orm.ts';
import { READY_WITHIN_MS, within } from './health.ts';
import type { Metrics } from './metrics.ts';
import { round, sampleRequests } from './request-rates.ts';
import { type Probe, renderStatus, type Status } from './status-page.ts';

const STATUS_PATH = '/status';

/** Redis answers a PING in well under a millisecond; one that takes a second is as good as down. */
const REDIS_WITHIN_MS = 1_000;

/** Times `ping`, bounded by `ms`: down when it fails or does not answer in time. */
async function probe(ping: () => Promise<unknown>, ms: number): Promise<Probe> {
  const started = performance.now();
  const answered = ping().then(
    () => true,
    () => false,
  );
  const up = await within(answered, ms, false);
  return up ? { status: 'up', latency_ms: round(performance.now() - started, 2) } : { status: 'down', latency_ms: null };
}

/**
 * GET /status: what a person checking on the service wants to see, as a page or as JSON. Public,
 * like /healthz: it holds no secret and nothing of any organization. It answers 200 within about
 * 1.5 s whatever the database and Redis do, reporting them as down instead.
 */
export async function registerStatusRoute(app: FastifyInstance, deps: { orm: MikroORM; metrics: Metrics; redis: Redis | null; workers: number }): Promise<void> {
  const { orm, metrics, redis, workers } = deps;
  const startedAt = new Date(Date.now() - process.uptime() * 1000);
  const requests = sampleRequests(metrics);
  app.addHook('onClose', async () => requests.stop());

  // In a scope of its own, so that request.accepts() is decorated for this route only.
  await app.register(async (scope) => {
    await scope.register(accepts);
    scope.get(STATUS_PATH, async (request, reply) => {
      const [database, redisProbe, recent] = await Promise.all([
        probe(() => orm.em.getConnection().execute('select 1'), READY_WITHIN_MS),
        redis ? probe(() => redis.ping(), REDIS_WITHIN_MS) : null,
        requests.recent(),
      ]);
      const status: Status = {
        status: database.status === 'up' && redisProbe?.status !== 'down' ? 'ok' : 'degraded',
        version: packageJson.version,
        started_at: startedAt.toISOString(),
        uptime_seconds: Math.floor(process.uptime()),
        workers,
        database,
        redis: redisProbe,
        requests: recent,
      };
      reply.header('Cache-Control', 'no-store');
      reply.header('Vary', 'Accept');
      if (request.accepts().type(['html', 'json']) === 'json') return reply.type('application/json; charset=utf-8').send(status);
      return reply.type('text/html; charset=utf-8').send(renderStatus(status));
    });
  });
}
