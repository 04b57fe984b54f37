import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getOperationAST, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { respondIdempotently } from '../idempotency/idempotent-write.ts';
import { idempotencyKeyOf } from '../idempotency/idempotency.ts';
import type { Ahead } from './ahead.ts';
import type { Context } from './context.ts';
import { serveGraphQLOverWebSocket } from './websocket.ts';
import { createGraphQLServer, type GraphQLServerDeps } from './yoga.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * An idempotent mutation's transaction, which the GraphQL context joins; `operationTransaction`
     * when the document's one mutation is all that runs in it, which then needs no savepoint;
     * `ahead`, what the mutation needed resolved before it opened.
     */
    transaction: { em: EntityManager; operationTransaction: boolean; ahead: Ahead } | null;
    graphqlContext: Context | null;
  }
}

function operationOf(body: unknown): OperationDefinitionNode | null {
  if (typeof body !== 'object' || body === null || !('query' in body) || typeof body.query !== 'string') return null;
  try {
    const operationName = 'operationName' in body && typeof body.operationName === 'string' ? body.operationName : null;
    return getOperationAST(parse(body.query), operationName) ?? null;
  } catch {
    return null;
  }
}

function variablesOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null && 'variables' in body ? body.variables : undefined;
}

function forwardedHeaders(request: FastifyRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    // The body is forwarded as text, so the original transfer framing no longer applies.
    if (value === undefined || name === 'content-length' || name === 'transfer-encoding') continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/**
 * GraphQL at /graphql (GET and POST, GraphiQL on GET, subscriptions as server-sent events), and
 * subscriptions over WebSocket on the same path. A mutation sent with an Idempotency-Key runs inside
 * the transaction that stores its response. Answers how to close the WebSocket connections.
 */
export function registerGraphQLRoute(app: FastifyInstance, deps: GraphQLServerDeps & { idempotencyTtlSeconds: number; maxMessageBytes: number }) {
  const yoga = createGraphQLServer(deps);
  const websocket = serveGraphQLOverWebSocket(app.server, yoga, { ...deps, log: app.log, maxPayload: deps.maxMessageBytes });
  app.decorateRequest('transaction', null);
  app.decorateRequest('graphqlContext', null);
  app.route({
    url: yoga.graphqlEndpoint,
    method: ['GET', 'POST'],
    handler: async (request, reply) => {
      const key = request.method === 'POST' ? idempotencyKeyOf(request.headers) : null;
      const operation = key === null || request.viewer === null ? null : operationOf(request.body);
      if (key === null || operation?.operation !== 'mutation') {
        const response = await yoga.handleNodeRequestAndResponse(request, reply, { req: request, reply });
        // Set before onSend, so that hooks see what is answered (load shedding frees an event stream's place).
        reply.code(response.status);
        for (const [name, value] of response.headers) reply.header(name, value);
        return reply.send(response);
      }

      // A failed mutation rolls the transaction back, so a document of one mutation needs no savepoint;
      // in a longer one, each mutation's failure must leave the others' writes.
      const [only, ...others] = operation.selectionSet.selections;
      const operationTransaction = only?.kind === Kind.FIELD && others.length === 0;
      const response = await respondIdempotently(request, reply, key, deps, { operation, variables: variablesOf(request.body) }, async (em, ahead) => {
        request.transaction = { em, operationTransaction, ahead };
        const init = { method: 'POST', headers: forwardedHeaders(request), body: request.rawBody };
        const result = await yoga.fetch(`http://localhost${yoga.graphqlEndpoint}`, init, { req: request, reply });
        const body = await result.text();
        // Once anything was written the response is kept, so a retry cannot write it again; a request
        // that wrote nothing and failed leaves the key free for a corrected retry.
        const outcome = request.graphqlContext?.outcome;
        const clean = result.ok && outcome !== undefined && !outcome.failed && !('errors' in (JSON.parse(body) as object));
        return { status: result.status, contentType: result.headers.get('content-type') ?? 'application/json', body, store: (outcome?.written ?? false) || clean };
      });
      return reply.code(response.status).type(response.contentType).send(response.body);
    },
  });
  return websocket;
}
