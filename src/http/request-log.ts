import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.ts';

/** One log line and one duration sample per request, written once the response is sent. */
export function registerRequestLog(app: FastifyInstance, metrics: Metrics): void {
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
}
