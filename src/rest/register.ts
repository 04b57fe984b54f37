import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { MikroORM } from '../database/orm.ts';
import { ApiError, AuthenticationError } from '../errors/api-error.ts';
import { createContext } from '../graphql/context.ts';
import { toApiError } from '../http/error-envelope.ts';
import type { Metrics } from '../http/metrics.ts';
import { respondIdempotently } from '../idempotency/idempotent-write.ts';
import { idempotencyKeyOf } from '../idempotency/idempotency.ts';
import { executeOperation } from './operation.ts';
import { restNamer } from './params.ts';
import type { RestRoute } from './route.ts';
import { parseRequestPart } from './validation.ts';

export const REST_PREFIX = '/v3/rest';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Every list passes limit and cursor as GraphQL's first and after. */
const PAGE_PARAMS = { first: 'limit', after: 'cursor' };

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
export function registerRestRoutes(app: FastifyInstance, routes: readonly RestRoute[], deps: { orm: MikroORM; publicUrl: string; idempotencyTtlSeconds: number; metrics: Metrics }): void {
  for (const route of routes) {
    const params = z.strictObject(route.params ?? {});
    const query = z.strictObject(route.query ?? {});
    app.route({
      method: route.method,
      url: REST_PREFIX + route.path.replace(/\{(\w+)\}/g, ':$1'),
      handler: async (request, reply) => {
        // Credentials come before input checks: a client without a token learns that first.
        if (!request.viewer) throw new AuthenticationError('API_TOKEN_MISSING');
        const key = WRITE_METHODS.has(route.method) ? idempotencyKeyOf(request.headers) : null;
        const input = {
          params: parseRequestPart(params, request.params, 'path'),
          query: parseRequestPart(query, request.query, 'query'),
          body: route.body ? parseRequestPart(route.body, request.body, 'body') : undefined,
        };
        const viewer = request.viewer;
        const restNames = restNamer({ ...PAGE_PARAMS, ...route.paramNames });
        const run = async (em: EntityManager) => {
          const context = createContext({
            em,
            viewer,
            requestId: request.id,
            publicUrl: deps.publicUrl,
            log: request.log,
            metrics: deps.metrics,
            operationTransaction: em.isInTransaction(),
          });
          const result = await executeOperation(route.document, route.variables(input), context);
          // A mutation that failed answered with an error type of its union; REST answers with the error
          // it threw, spelled in REST's names.
          const failed = context.outcome.error;
          if (failed instanceof ApiError) throw failed.renamed(restNames);
          const [first] = result.errors ?? [];
          if (first) {
            const { error, unexpected } = toApiError(first.originalError ?? first);
            if (unexpected) request.log.error({ err: first.originalError ?? first }, 'unexpected error in REST operation');
            throw error.renamed(restNames);
          }
          return route.respond(result.data ?? {});
        };

        if (key === null) {
          const response = await run(deps.orm.em);
          const location = response.status === 201 ? locationOf(route, input.params, response.body) : null;
          if (location) reply.header('Location', location);
          return reply.code(response.status).send(response.body);
        }
        const response = await respondIdempotently(request, reply, key, deps, async (em) => {
          const { status, body } = await run(em);
          return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body), store: true };
        });
        // A replay answers from the stored body, so it names the same resource.
        const location = response.status === 201 ? locationOf(route, input.params, JSON.parse(response.body)) : null;
        if (location) reply.header('Location', location);
        return reply.code(response.status).type(response.contentType).send(response.body);
      },
    });
  }
}
