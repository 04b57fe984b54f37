import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyServerOptions } from 'fastify';
import type { Config } from './config.ts';
import type { MikroORM } from './database/orm.ts';
import { registerPlayground } from './docs/playground.ts';
import { registerPostmanRoute } from './docs/postman.ts';
import { renderErrorDocs } from './errors/docs-page.ts';
import { createEventBus } from './events/event-bus.ts';
import { startWebhookWorker } from './webhooks/webhook-worker.ts';
import { registerGraphQLRoute } from './graphql/route.ts';
import { admissionLimit, registerAdmission } from './http/admission.ts';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling } from './http/errors.ts';
import { registerHealthRoutes } from './http/health.ts';
import { BODY_LIMIT, DEFAULT_TIMEOUTS } from './http/limits.ts';
import { acceptJsonBodiesOnly } from './http/json-body.ts';
import { createMetrics, registerMetricsRoute } from './http/metrics.ts';
import { apiPipeline } from './http/pipeline.ts';
import { registerRequestLog } from './http/request-log.ts';
import { createRateLimiter } from './http/rate-limit.ts';
import { requestIdOf } from './http/request-id.ts';
import { registerStatusRoute } from './http/status.ts';
import { schedulePurge } from './idempotency/idempotency.ts';
import { openApiDocument } from './rest/openapi.ts';
import { REST_PREFIX, registerRestRoutes } from './rest/register.ts';
import { restRoutes } from './rest/routes.ts';
import { createTokenCache } from './organizations/token-cache.ts';
import type { Viewer } from './organizations/viewer.ts';

declare module 'fastify' {
  interface FastifyRequest {
    viewer: Viewer | null;
  }
}

interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  timeouts?: Partial<typeof DEFAULT_TIMEOUTS>;
}

/** Builds the whole HTTP surface on one Fastify instance; it never listens (main.ts and tests do). */
export async function buildApp(config: Config, orm: MikroORM, options: AppOptions = {}) {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    // Headers must arrive within headersMs and the whole request within requestMs (else 408);
    // headers beyond maxHeaderBytes are refused with 431.
    requestTimeout: timeouts.requestMs,
    http: { headersTimeout: timeouts.headersMs, maxHeaderSize: timeouts.maxHeaderBytes, connectionsCheckingInterval: 1000 },
    genReqId: requestIdOf,
    // One line per request, written in onResponse below, instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    clientErrorHandler: clientErrorHandler(config.publicUrl),
    frameworkErrors: frameworkErrorHandler(config.publicUrl),
    // Long enough that an overlong id reaches the route and is refused as INVALID_ID.
    routerOptions: { maxParamLength: 1000 },
    // While stopping, requests on open connections are still served (with Connection: close, below)
    // rather than refused before the request id and envelope exist.
    return503OnClosing: false,
    // On close, idle keep-alive connections go at once; busy ones finish their request first.
    forceCloseConnections: 'idle',
  });
  const errorDocs = renderErrorDocs();
  // Built on its first request (or the Postman collection's), not at start: about 1 MiB less in each
  // process that never serves it.
  let openApi: string | undefined;
  const openApiText = () => (openApi ??= JSON.stringify(openApiDocument(restRoutes, config.publicUrl)));

  acceptJsonBodiesOnly(app);

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
  // First hook: every response, including errors and unknown routes, names its request and echoes
  // the client's Idempotency-Key.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    reply.header('correlation-id', request.id);
    const key = request.headers['idempotency-key'];
    if (typeof key === 'string' && /^[\x20-\x7E]*$/.test(key)) reply.header('Idempotency-Key', key);
  });

  const limiter = await createRateLimiter(config.rateLimitPerMinute, config.redisUrl, app.log);
  // Verified tokens are kept in this process; it hears revocations on a connection of its own.
  const tokens = createTokenCache(orm, app.log);
  await tokens.start();
  registerErrorHandling(app, config.publicUrl, apiPipeline(tokens, limiter, () => false));
  registerHealthRoutes(app, orm);
  const metrics = createMetrics(orm);
  for (const metric of tokens.metrics) metrics.registry.registerMetric(metric);
  registerMetricsRoute(app, metrics);
  registerRequestLog(app, metrics);
  app.get('/docs/errors', async (_request, reply) => reply.type('text/html; charset=utf-8').send(errorDocs));
  app.get(`${REST_PREFIX}/openapi.json`, async (_request, reply) => reply.type('application/json; charset=utf-8').send(openApiText()));
  // Tools for people, outside the API scope below: no token, never shed, not rate limited.
  registerPlayground(app);
  registerPostmanRoute(app, openApiText, config.publicUrl);
  await registerStatusRoute(app, { orm, metrics, redis: limiter?.redis ?? null, workers: config.workers });

  // Events of committed writes reach the subscriptions of this process, and of every instance with REDIS_URL.
  const events = await createEventBus(config.redisUrl, app.log);
  for (const metric of events.metrics) metrics.registry.registerMetric(metric);

  const routeDeps = { orm, publicUrl: config.publicUrl, allowPrivateWebhookUrls: config.webhookAllowPrivateUrls, idempotencyTtlSeconds: config.idempotencyTtlSeconds, metrics, events };
  const admitted = admissionLimit(config.maxConcurrentRequests, orm.config.get('pool').max);
  let graphQLSockets: ReturnType<typeof registerGraphQLRoute> | undefined;
  await app.register(async (api) => {
    // Load is shed first, before authentication, so a refused request costs no statement.
    registerAdmission(api, admitted, metrics, config.publicUrl);
    // Authentication and the rate limit run before every API route, ahead of body parsing, so a
    // client without a token learns that first. A request without credentials still reaches
    // GraphQL (GraphiQL and introspection are public) and is refused field by field there.
    api.addHook('onRequest', apiPipeline(tokens, limiter, (request) => request.url.startsWith(REST_PREFIX)));
    registerRestRoutes(api, restRoutes, routeDeps);
    graphQLSockets = registerGraphQLRoute(api, { ...routeDeps, tokens, maxMessageBytes: BODY_LIMIT });
  });

  let stopping = false;
  app.addHook('preClose', async () => {
    stopping = true;
    // Open subscriptions would hold the stop until its grace period ends: SSE streams complete,
    // WebSocket connections close with 1001 (their clients connect again elsewhere).
    events.endSubscriptions();
    await graphQLSockets?.close();
  });
  app.addHook('onSend', async (_request, reply) => {
    if (stopping) reply.header('Connection', 'close');
  });

  const stopPurging = schedulePurge(orm, app.log);
  // Every server process delivers the webhook outbox; processes and instances share it row by row.
  const webhooks = startWebhookWorker({ orm, log: app.log, allowPrivateUrls: config.webhookAllowPrivateUrls });
  for (const metric of webhooks.metrics) metrics.registry.registerMetric(metric);
  app.addHook('onClose', async () => {
    stopPurging();
    await webhooks.stop();
    await limiter?.close();
    await tokens.close();
    await events.close();
  });

  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
