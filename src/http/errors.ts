import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { type ApiError, NotFoundError } from '../errors/api-error.ts';
import { errorBody, statusOf, toApiError } from './error-envelope.ts';

/** Every error, thrown anywhere or for an unknown route, leaves in the SPEC §5 envelope. */
export function registerErrorHandling(app: FastifyInstance, publicUrl: string, beforeNotFound: preHandlerAsyncHookHandler): void {
  const sendError = (request: FastifyRequest, reply: FastifyReply, error: ApiError) => {
    const body = errorBody(error, request.id, publicUrl);
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
  // An unknown route still identifies and counts its caller, so a 404 carries the RateLimit-* headers.
  app.setNotFoundHandler({ preHandler: beforeNotFound }, (request, reply) =>
    sendError(request, reply, new NotFoundError('ROUTE_NOT_FOUND', { message: `No route for ${request.method} ${request.url.split('?')[0]}.` })),
  );
}
