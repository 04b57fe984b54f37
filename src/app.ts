import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.ts';
import type { MikroORM } from './database/orm.ts';
import { NotFoundError, type ApiError } from './errors/api-error.ts';
import { renderErrorDocs } from './errors/docs-page.ts';
import { registerGraphQLRoute } from './graphql/route.ts';
import { errorBody, statusOf, toApiError } from './http/error-envelope.ts';
import { registerHealthRoutes } from './http/health.ts';
import { createMetrics, registerMetricsRoute } from './http/metrics.ts';
import { apiPipeline } from './http/pipeline.ts';
import { createRateLimiter } from './http/rate-limit.ts';
import { requestIdOf } from './http/request-id.ts';
import { purgeExpiredKeys } from './idempotency/idempotency.ts';
import { openApiDocument } from './rest/openapi.ts';
import { REST_PREFIX, registerRestRoutes } from './rest/register.ts';
import { restRoutes } from './rest/routes.ts';
import type { Viewer } from './organizations/viewer.ts';

declare module 'fastify' {
  interface FastifyRequest {
    viewer: Viewer | null;
    /** The JSON body as received, for idempotency's "same request" comparison. */
    rawBody: string;
  }
}

export const BODY_LIMIT = 1024 * 1024;

/** Builds the whole HTTP surface on one Fastify instance; it never listens (main.ts and tests do). */
export async function buildApp(config: Config, orm: MikroORM, options: { logger?: FastifyServerOptions['logger'] } = {}) {
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    genReqId: requestIdOf,
    // One line per request, written in onResponse below, instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // On close, idle keep-alive connections go at once; busy ones finish their request first.
    forceCloseConnections: 'idle',
  });
  const errorDocs = renderErrorDocs();
  const openApi = JSON.stringify(openApiDocument(restRoutes, config.publicUrl));

  // JSON only: a text/plain body is UNSUPPORTED_MEDIA_TYPE, not a string to validate. An empty body
  // sent with a JSON content type (common on DELETE) counts as no body rather than broken JSON.
  app.removeAllContentTypeParsers();
  // `__proto__` and `constructor` keys stay plain own properties (JSON.parse never touches prototypes),
  // so the body checks can name them as unknown fields instead of calling valid JSON malformed.
  const parseJson = app.getDefaultJsonParser('ignore', 'ignore');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    request.rawBody = text;
    if (text === '') return done(null, undefined);
    parseJson(request, text, done);
  });

  // Browser frontends on CORS_ORIGINS may call the API; none may when it is empty.
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['content-type', 'x-api-token', 'authorization', 'idempotency-key', 'x-request-id', 'x-graphql-yoga-csrf'],
      exposedHeaders: ['x-request-id', 'correlation-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after', 'idempotency-key', 'idempotency-replayed'],
      maxAge: 600,
    });
  }

  app.decorateRequest('viewer', null);
  app.decorateRequest('rawBody', '');
  // First hook: every response, including errors and unknown routes, names its request and echoes
  // the client's Idempotency-Key.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    reply.header('correlation-id', request.id);
    const key = request.headers['idempotency-key'];
    if (typeof key === 'string' && /^[\x20-\x7E]*$/.test(key)) reply.header('Idempotency-Key', key);
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

  registerHealthRoutes(app, orm);
  const metrics = createMetrics(orm);
  registerMetricsRoute(app, metrics);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: reply.statusCode }, reply.elapsedTime / 1000);
    // Who and what, never the token itself: the organization and the key's id.
    request.log.info(
      {
        organization_id: request.viewer?.organizationId,
        api_key_id: request.viewer?.apiKeyId,
        method: request.method,
        route,
        operation: request.graphqlContext?.outcome.operation,
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });
  app.get('/docs/errors', async (_request, reply) => reply.type('text/html; charset=utf-8').send(errorDocs));
  app.get(`${REST_PREFIX}/openapi.json`, async (_request, reply) => reply.type('application/json; charset=utf-8').send(openApi));

  const limiter = createRateLimiter(config.rateLimitPerMinute, config.redisUrl, app.log);
  const routeDeps = { orm, publicUrl: config.publicUrl, idempotencyTtlSeconds: config.idempotencyTtlSeconds, metrics };
  await app.register(async (api) => {
    // Authentication and the rate limit run before every API route, ahead of body parsing, so a
    // client without a token learns that first. A request without credentials still reaches
    // GraphQL (GraphiQL and introspection are public) and is refused field by field there.
    api.addHook('onRequest', apiPipeline(orm, limiter, (request) => request.url.startsWith(REST_PREFIX)));
    registerRestRoutes(api, restRoutes, routeDeps);
    registerGraphQLRoute(api, routeDeps);
  });

  // Stored idempotent responses are dropped once they expire, by whichever instance gets there first.
  const purge = setInterval(() => {
    purgeExpiredKeys(orm.em.fork()).catch((error: unknown) => app.log.warn({ err: error }, 'could not purge expired idempotency keys'));
  }, 60_000).unref();
  app.addHook('onClose', async () => {
    clearInterval(purge);
    await limiter?.close();
  });

  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
