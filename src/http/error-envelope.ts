import { ConnectionException } from '@mikro-orm/core';
import { ApiError, NotFoundError, RateLimitError, ServerError, ValidationError } from '../errors/api-error.ts';
import { docUrl, statusOfCode } from '../errors/catalog.ts';

export interface ErrorBody {
  type: string;
  code: string;
  message: string;
  retryable: boolean;
  request_id: string;
  doc_url: string;
  param: string | null;
  suggestion: string;
  errors?: { param: string; code: string; message: string }[];
  retry_after_seconds?: number;
}

/**
 * SQLSTATEs of a server shutting down or starting (57P0x), or that cancelled a statement or an idle
 * transaction for taking too long (57014, 25P03); class 08 is a broken connection.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57014', '25P03']);
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/**
 * pg's and pg-pool's own errors carry no code: a statement, pool wait or handshake that timed out,
 * and a connection that was closed (by the server, or by us after a statement timed out).
 */
const UNAVAILABLE_MESSAGES = new Set([
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  'timeout expired',
  'Connection terminated',
  'Connection terminated unexpectedly',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
]);

/** PostgreSQL unreachable, shutting down or not answering in time: worth a retry, unlike a bug. */
function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof ConnectionException) return true;
  if (!(error instanceof Error)) return false;
  const code = 'code' in error ? error.code : undefined;
  // A Unix socket's file is gone while its server is stopped: connecting to it fails with ENOENT.
  const socketGone = code === 'ENOENT' && 'syscall' in error && error.syscall === 'connect';
  if (typeof code === 'string') return code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code) || socketGone;
  return UNAVAILABLE_MESSAGES.has(error.message);
}

/** Whether Fastify itself refused the request with a 4xx (its errors carry `FST_` codes and a statusCode). */
export function isFrameworkClientError(error: unknown): boolean {
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  return typeof code === 'string' && code.startsWith('FST_') && typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500;
}

/**
 * Fastify's other refusals keep a client-error status: the request was wrong, not the server. Its own
 * message is not passed on, since it names framework internals.
 */
function frameworkRefusal(error: unknown): ApiError | null {
  if (!isFrameworkClientError(error)) return null;
  switch ((error as { statusCode: number }).statusCode) {
    case 404:
    case 405:
      return new NotFoundError('ROUTE_NOT_FOUND');
    case 413:
      return new ValidationError('PAYLOAD_TOO_LARGE', { param: 'body' });
    case 415:
      return new ValidationError('UNSUPPORTED_MEDIA_TYPE', { param: 'body' });
    default:
      return new ValidationError('MALFORMED_REQUEST');
  }
}

/**
 * Maps anything thrown to an ApiError. Fastify's own failures (body parsing, limits) get their
 * catalog codes; anything unexpected becomes INTERNAL_ERROR, whose details are only logged.
 */
export function toApiError(error: unknown): { error: ApiError; unexpected: boolean } {
  if (error instanceof ApiError) return { error, unexpected: false };
  const fastifyCode = (error as { code?: unknown } | null)?.code;
  switch (fastifyCode) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: new ValidationError('PAYLOAD_TOO_LARGE', { param: 'body' }), unexpected: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { error: new ValidationError('UNSUPPORTED_MEDIA_TYPE', { param: 'body' }), unexpected: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { error: new ValidationError('INVALID_JSON', { param: 'body' }), unexpected: false };
  }
  if (error instanceof SyntaxError && (error as { statusCode?: number }).statusCode === 400) {
    return { error: new ValidationError('INVALID_JSON', { param: 'body', message: `The request body is not valid JSON: ${error.message}` }), unexpected: false };
  }
  const refusal = frameworkRefusal(error);
  if (refusal) return { error: refusal, unexpected: false };
  if (isDatabaseUnavailable(error)) return { error: new ServerError('DATABASE_UNAVAILABLE'), unexpected: false };
  return { error: new ServerError('INTERNAL_ERROR'), unexpected: true };
}

/** The status of the error's type (SPEC §5), unless its code has its own (SERVICE_OVERLOADED: 503). */
export function statusOf(error: ApiError): number {
  return statusOfCode(error.code);
}

/** The object under `error` in REST responses and in GraphQL `extensions` (SPEC §5, §9). */
export function errorBody(error: ApiError, requestId: string, publicUrl: string): ErrorBody {
  return {
    type: error.type,
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    request_id: requestId,
    doc_url: docUrl(publicUrl, error.code),
    param: error.param,
    suggestion: error.suggestion,
    ...(error instanceof ValidationError ? { errors: error.errors } : {}),
    ...(error instanceof RateLimitError ? { retry_after_seconds: error.retryAfterSeconds } : {}),
  };
}
