import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.ts';
import type { MikroORM } from './database/orm.ts';
import { NotFoundError, type ApiError } from './errors/api-error.ts';
import { renderErrorDocs } from './errors/docs-page.ts';
import { createGraphQLServer } from './graphql/yoga.ts';
import { viewerOf } from './http/auth.ts';
import { errorBody, statusOf, toApiError } from './http/error-envelope.ts';
import { requestIdOf } from './http/request-id.ts';
import { openApiDocument } from './rest/openapi.ts';
import { REST_PREFIX, registerRestRoutes } from './rest/register.ts';
import { restRoutes } from './rest/routes.ts';
import type { Viewer } from './organizations/viewer.ts';

declare module 'fastify' {
  interface FastifyRequest {
    viewer: Viewer | null;
  }
}

export const BODY_LIMIT = 1024 * 1024;

/** Builds the whole HTTP surface on one Fastify instance; it never listens (main.ts and tests do). */
export async function buildApp(config: Config, orm: MikroORM, options: { logger?: FastifyServerOptions['logger'] } = {}) {
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    genReqId: requestIdOf,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    bodyLimit: BODY_LIMIT,
  });
  const errorDocs = renderErrorDocs();
  const openApi = JSON.stringify(openApiDocument(restRoutes, config.publicUrl));

  // JSON only: a text/plain body is UNSUPPORTED_MEDIA_TYPE, not a string to validate. An empty body
  // sent with a JSON content type (common on DELETE) counts as no body rather than broken JSON.
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') return done(null, undefined);
    parseJson(request, text, done);
  });

  app.decorateRequest('viewer', null);
  // First hook: every response, including errors and unknown routes, names its request.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    reply.header('correlation-id', request.id);
  });

  const sendError = (request: FastifyRequest, reply: FastifyReply, error: ApiError) => {
    const body = errorBody(error, request.id, config.publicUrl);
    reply.code(statusOf(error));
    // GraphQL clients get a GraphQL response whose error extensions hold the REST envelope's fields.
    if (request.url.split('?')[0] === '/graphql') return reply.type('application/graphql-response+json; charset=utf-8').send({ errors: [{ message: error.message, extensions: body }] });
    return reply.type('application/json; charset=utf-8').send({ error: body });
  };

  app.setErrorHandler((thrown: FastifyError, request, reply) => {
    const { error, unexpected } = toApiError(thrown);
    if (unexpected) request.log.error({ err: thrown }, 'unexpected error');
    return sendError(request, reply, error);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new NotFoundError('ROUTE_NOT_FOUND', { message: `No route for ${request.method} ${request.url.split('?')[0]}.` })),
  );

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
  app.get('/docs/errors', async (_request, reply) => reply.type('text/html; charset=utf-8').send(errorDocs));
  app.get(`${REST_PREFIX}/openapi.json`, async (_request, reply) => reply.type('application/json; charset=utf-8').send(openApi));

  await app.register(async (api) => {
    // Authentication runs before every API route; a request without credentials reaches GraphQL
    // (GraphiQL and introspection are public) and is refused field by field there.
    api.addHook('preHandler', async (request) => {
      request.viewer = await viewerOf(orm.em.fork(), request.headers);
    });

    registerRestRoutes(api, restRoutes, { orm, publicUrl: config.publicUrl });

    const graphql = createGraphQLServer(orm, config.publicUrl);
    api.route({
      url: graphql.graphqlEndpoint,
      method: ['GET', 'POST'],
      handler: (request, reply) => graphql.handleNodeRequestAndResponse(request, reply, { req: request, reply }),
    });
  });

  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
