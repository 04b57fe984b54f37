import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import type { MikroORM } from '../database/orm.ts';
import { AuthenticationError } from '../errors/api-error.ts';
import type { Ahead } from '../graphql/ahead.ts';
import { createContext } from '../graphql/context.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Metrics } from '../http/metrics.ts';
import { respondIdempotently } from '../idempotency/idempotent-write.ts';
import { idempotencyKeyOf } from '../idempotency/idempotency.ts';
import type { RestRoute } from './route.ts';

export const REST_PREFIX = '/v3/rest';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Where a 201's new resource lives: the route's path with its ids, then the id of the created body. */
function locationOf(route: RestRoute, params: Readonly<Record<string, unknown>>, body: unknown): string | null {
  const id = typeof body === 'object' && body !== null && 'id' in body ? body.id : null;
  if (typeof id !== 'number') return null;
  return `${REST_PREFIX}${route.path.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name]))}/${id}`;
}

/**
 * Mounts the route table: each handler only parses, runs its GraphQL operation and maps the outcome.
 * A write with an Idempotency-Key runs inside the transaction that stores its response.
 */
export function registerRestRoutes(app: FastifyInstance, routes: readonly RestRoute[], deps: { orm: MikroORM; publicUrl: string; allowPrivateWebhookUrls: boolean; idempotencyTtlSeconds: number; metrics: Metrics; events: EventBus }): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: REST_PREFIX + route.path.replace(/\{(\w+)\}/g, ':$1'),
      handler: async (request, reply) => {
        // Credentials come before input checks: a client without a token learns that first.
        if (!request.viewer) throw new AuthenticationError('API_TOKEN_MISSING');
        const key = WRITE_METHODS.has(route.method) ? idempotencyKeyOf(request.headers) : null;
        const checked = route.check({ params: request.params, query: request.query, body: request.body });
        const viewer = request.viewer;
        const run = async (em: EntityManager, ahead?: Ahead) =>
          await checked.run(
            createContext({
              em,
              viewer,
              requestId: request.id,
              publicUrl: deps.publicUrl,
              allowPrivateWebhookUrls: deps.allowPrivateWebhookUrls,
              ahead,
              log: request.log,
              metrics: deps.metrics,
              events: deps.events,
              operationTransaction: em.isInTransaction(),
            }),
          );

        if (key === null) {
          const response = await run(deps.orm.em);
          const location = response.status === 201 ? locationOf(route, checked.params, response.body) : null;
          if (location) reply.header('Location', location);
          return reply.code(response.status).send(response.body);
        }
        const response = await respondIdempotently(request, reply, key, deps, checked, async (em, ahead) => {
          const { status, body } = await run(em, ahead);
          return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body), store: true };
        });
        // A replay answers from the stored body, so it names the same resource.
        const location = response.status === 201 ? locationOf(route, checked.params, JSON.parse(response.body)) : null;
        if (location) reply.header('Location', location);
        return reply.code(response.status).type(response.contentType).send(response.body);
      },
    });
  }
}
