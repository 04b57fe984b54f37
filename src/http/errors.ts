import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { type ApiError, NotFoundError, ValidationError } from '../errors/api-error.ts';
import { binarySize, DEFAULT_TIMEOUTS } from './limits.ts';
import { newRequestId } from './request-id.ts';
import { errorBody, isFrameworkClientError, statusOf, toApiError } from './error-envelope.ts';

/** Answers with `error` in the SPEC §5 envelope, or as a GraphQL response on /graphql. */
export function sendError(publicUrl: string, request: FastifyRequest, reply: FastifyReply, error: ApiError) {
  const body = errorBody(error, request.id, publicUrl);
  reply.code(statusOf(error));
  // GraphQL clients get a GraphQL response whose error extensions hold the REST envelope's fields.
  if (request.url.split('?')[0] === '/graphql') return reply.type('application/graphql-response+json; charset=utf-8').send({ errors: [{ message: error.message, extensions: body }] });
  return reply.type('application/json; charset=utf-8').send({ error: body });
}

/**
 * Fastify's router refuses a URL it cannot decode (or an absurdly long path parameter) before any
 * hook runs; the answer still names its request and uses the envelope.
 */
export function frameworkErrorHandler(publicUrl: string) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    reply.header('X-Request-Id', request.id);
    reply.header('correlation-id', request.id);
    const message = error.code === 'FST_ERR_BAD_URL' ? 'The URL is not validly percent-encoded UTF-8.' : 'A path segment of the URL is too long.';
    return sendError(publicUrl, request, reply, new ValidationError('MALFORMED_REQUEST', { param: 'path', message }));
  };
}

/** Every error, thrown anywhere or for an unknown route, leaves in the SPEC §5 envelope. */
export function registerErrorHandling(app: FastifyInstance, publicUrl: string, beforeNotFound: preHandlerAsyncHookHandler): void {
  const send = (request: FastifyRequest, reply: FastifyReply, error: ApiError) => sendError(publicUrl, request, reply, error);
  const routeNotFound = (request: FastifyRequest) => new NotFoundError('ROUTE_NOT_FOUND', { message: `No route for ${request.method} ${request.url.split('?')[0]}.` });
  app.setErrorHandler((thrown: FastifyError, request, reply) => {
    // A request for a method no route serves can fail Fastify's checks (a QUERY without Content-Type)
    // before the not-found handler runs; it is still an unknown route.
    if (request.is404 && isFrameworkClientError(thrown)) return send(request, reply, routeNotFound(request));
    const { error, unexpected } = toApiError(thrown);
    if (unexpected) request.log.error({ err: thrown }, 'unexpected error');
    return send(request, reply, error);
  });
  // An unknown route still identifies and counts its caller, so a 404 carries the RateLimit-* headers.
  app.setNotFoundHandler({ preHandler: beforeNotFound }, (request, reply) => send(request, reply, routeNotFound(request)));
}

/**
 * Requests that never became requests (unparseable, oversized headers, too slow) are answered on the
 * raw socket. They still get a request id and the envelope, and only the error code is logged: the
 * parser's error holds the raw bytes, credentials included.
 */
export function clientErrorHandler(publicUrl: string) {
  return function (this: FastifyInstance, error: ConnectionError, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const requestId = newRequestId();
    const apiError =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new ValidationError('PAYLOAD_TOO_LARGE', { param: 'headers', message: `The request headers are larger than ${binarySize(DEFAULT_TIMEOUTS.maxHeaderBytes)}.`, suggestion: 'Send fewer or shorter headers.' })
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new ValidationError('REQUEST_TIMEOUT')
          : new ValidationError('MALFORMED_REQUEST');
    this.log.info({ request_id: requestId, code: error.code, status: statusOf(apiError) }, 'client error');
    if (socket.writable) {
      const body = JSON.stringify({ error: errorBody(apiError, requestId, publicUrl) });
      socket.write(
        `HTTP/1.1 ${statusOf(apiError)} Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `X-Request-Id: ${requestId}\r\ncorrelation-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
