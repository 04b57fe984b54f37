import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { MikroORM } from '../database/orm.ts';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Prometheus metrics of one server: one registry per app, so several apps in one process stay apart. */
export function createMetrics(orm: MikroORM) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by route template, method and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    graphqlDuration: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operations executed over /graphql, by operation name and type.',
      labelNames: ['operation', 'type'] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    recordsIngested: new Counter({ name: 'feedback_records_ingested_total', help: 'Feedback records written, over REST and GraphQL.', registers }),
    requestsShed: new Counter({ name: 'http_requests_shed_total', help: 'API requests refused with 503 SERVICE_OVERLOADED before they ran.', registers }),
    requestsInFlight: new Gauge({ name: 'http_requests_in_flight', help: 'API requests admitted and not yet answered (the number MAX_CONCURRENT_REQUESTS bounds).', registers }),
    pool: new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections by state (total, idle, waiting clients).',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const pool = await orm.em.getConnection().getNativeClient();
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
