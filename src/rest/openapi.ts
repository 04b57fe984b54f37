import { z } from 'zod';
import {
  createDocument,
  type oas31,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { type ApiError, AuthenticationError, ConflictError, NotFoundError, PermissionError, RateLimitError, ServerError, ValidationError } from '../errors/api-error.ts';
import { type ErrorCode, type ErrorType, errorCatalog, statusOfCode } from '../errors/catalog.ts';
import { errorBody } from '../http/error-envelope.ts';
import { MAX_IDEMPOTENCY_KEY_LENGTH, MAX_REQUEST_ID_LENGTH } from '../http/limits.ts';
import { CLIENT_ID } from '../http/request-id.ts';
import { IDEMPOTENCY_KEY } from '../idempotency/idempotency.ts';
import { REST_PREFIX } from './register.ts';
import type { RestRoute } from './route.ts';
import { ErrorSchema } from './schemas.ts';

// The error codes each operation can answer, by where they come from. A route lists only its own
// operation's codes; these are added by what the route is.

/** Any request, refused before it reaches a route: headers over 16 KiB, too slow, or not valid HTTP. */
const REQUEST_ERRORS: readonly ErrorCode[] = ['MALFORMED_REQUEST', 'REQUEST_TIMEOUT', 'PAYLOAD_TOO_LARGE'];
/** Every REST route: credentials, scope, rate limit, unknown query keys (one, or several), server failures, load shed. */
const API_ERRORS: readonly ErrorCode[] = [
  'INVALID_FIELD_VALUE',
  'VALIDATION_FAILED',
  ...REQUEST_ERRORS,
  'API_TOKEN_MISSING',
  'API_TOKEN_INVALID',
  'API_TOKEN_EXPIRED',
  'API_TOKEN_REVOKED',
  'WRONG_AUTH_HEADER',
  'INSUFFICIENT_SCOPE',
  'RATE_LIMITED',
  'DATABASE_UNAVAILABLE',
  'INTERNAL_ERROR',
  'SERVICE_OVERLOADED',
];
/** Every write: its body is parsed (a DELETE's too, when it sends one) and it takes an Idempotency-Key. */
const WRITE_ERRORS: readonly ErrorCode[] = [
  'INVALID_JSON',
  'UNSUPPORTED_MEDIA_TYPE',
  'INVALID_IDEMPOTENCY_KEY',
  'IDEMPOTENCY_KEY_REUSE',
  'IDEMPOTENCY_KEY_MISMATCH',
  'IDEMPOTENCY_KEY_IN_PROGRESS',
];

const TAGS: Readonly<Record<string, string>> = {
  'Feedback sources': 'Where feedback comes from: a survey, a ticketing system, a chat channel.',
  People: 'Who gave feedback, with their company; upserted by external_id or email.',
  'Feedback records': 'One piece of feedback each: a list of typed fields, ingested into a source.',
  Webhooks: 'Where the organization\'s events are delivered (signed, at least once), and what became of each delivery.',
  Meta: 'This document and the health probes; they need no token.',
};

const ref = (kind: 'headers' | 'schemas', name: string) => ({ $ref: `#/components/${kind}/${name}` });

const HEADERS: Record<string, oas31.HeaderObject> = {
  RequestId: {
    description: `The request id: the client's X-Request-Id when it is 1–${MAX_REQUEST_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -, else req_ and 12 letters and digits. Error bodies and logs carry it too.`,
    required: true,
    schema: { type: 'string', pattern: CLIENT_ID.source, example: 'req_a1b2c3d4e5f6' },
  },
  CorrelationId: { description: 'The same value as X-Request-Id.', required: true, schema: { type: 'string', pattern: CLIENT_ID.source, example: 'req_a1b2c3d4e5f6' } },
  RateLimitLimit: { description: 'Requests allowed a minute for this token (or, without a valid token, this client address); absent when limits are off.', schema: { type: 'integer', minimum: 1, example: 100 } },
  RateLimitRemaining: { description: 'Requests left in the current window.', schema: { type: 'integer', minimum: 0, example: 42 } },
  RateLimitReset: { description: 'Seconds until the window resets.', schema: { type: 'integer', minimum: 0, example: 17 } },
  RetryAfter: { description: 'Seconds to wait before sending more requests.', required: true, schema: { type: 'integer', minimum: 1, example: 17 } },
  IdempotencyKey: { description: 'The Idempotency-Key the request sent, echoed.', schema: { type: 'string', example: '5f0c9a4e-2b7d-4c1e-9a8f-3d6b2e1c7a90' } },
  IdempotencyReplayed: {
    description: 'Present, with the value true, when this is the stored response of an earlier request with the same Idempotency-Key; the operation did not run again.',
    schema: { type: 'string', enum: ['true'] },
  },
  Location: {
    description: 'The path of the created resource, e.g. /v3/rest/feedback-sources/12; also on a replayed response.',
    required: true,
    schema: { type: 'string', format: 'uri-reference', example: '/v3/rest/feedback-sources/12' },
  },
};

/** Request headers an operation takes, written out in each (tools read inline header parameters best). */
const PARAMETERS: Record<'IdempotencyKey' | 'RequestId', oas31.ParameterObject> = {
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      `1–${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters, e.g. a UUID per logical operation. A retry with the same key and body gets the stored ` +
      'response instead of writing again. HTTP drops spaces around a header value, so a key neither starts nor ends with one.',
    // The key rule, plus HTTP's: spaces at either end never arrive.
    schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH, pattern: `^(?! )(?!.* $)${IDEMPOTENCY_KEY.source.slice(1)}` },
  },
  RequestId: {
    name: 'X-Request-Id',
    in: 'header',
    required: false,
    description: `Your id for the request, echoed in X-Request-Id and correlation-id and logged, when it is 1–${MAX_REQUEST_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -; otherwise the server makes one.`,
    schema: { type: 'string', pattern: CLIENT_ID.source },
  },
};

const SECURITY_SCHEMES: Record<string, oas31.SecuritySchemeObject> = {
  apiToken: { type: 'apiKey', in: 'header', name: 'x-api-token', description: 'An API token (npm run keys -- create). The scopes an operation lists are the token scopes it needs.' },
  bearerAuth: { type: 'http', scheme: 'bearer', description: 'The same API token as Authorization: Bearer <token>.' },
};

/** The param an example error of each code names, where it names one. */
const EXAMPLE_PARAMS: Partial<Record<ErrorCode, string>> = {
  INVALID_JSON: 'body',
  UNSUPPORTED_MEDIA_TYPE: 'body',
  PAYLOAD_TOO_LARGE: 'body',
  INVALID_IDEMPOTENCY_KEY: 'Idempotency-Key',
  IDEMPOTENCY_KEY_REUSE: 'Idempotency-Key',
  IDEMPOTENCY_KEY_MISMATCH: 'Idempotency-Key',
  IDEMPOTENCY_KEY_IN_PROGRESS: 'Idempotency-Key',
  INVALID_CURSOR: 'cursor',
  INVALID_EMAIL: 'email',
  INVALID_PHONE_NUMBER: 'phone',
  FIELD_VALUE_TOO_LARGE: 'fields[0].value',
  FEEDBACK_SOURCE_NAME_TAKEN: 'name',
  PERSON_EMAIL_TAKEN: 'email',
  DUPLICATE_EXTERNAL_ID: 'external_id',
  FEEDBACK_SOURCE_NOT_EMPTY: 'id',
  FEEDBACK_SOURCE_NOT_FOUND: 'id',
  PERSON_NOT_FOUND: 'id',
  RECORD_NOT_FOUND: 'record_id',
};

/** A realistic envelope of `code`, built by the server's own error classes and envelope. */
function exampleError(code: ErrorCode, route: RestRoute | null, publicUrl: string): { error: unknown } {
  const type = errorCatalog[code].type;
  let param = EXAMPLE_PARAMS[code] ?? null;
  let message: string | undefined;
  if (code === 'INVALID_FIELD_VALUE') [param, message] = ['colour', 'colour is not a field this endpoint accepts.'];
  if (code === 'INVALID_ID') [param, message] = ['id', 'id must be a positive integer id; got "abc".'];
  if (code === 'INSUFFICIENT_SCOPE' && route) message = `This API token lacks the ${route.scope} scope.`;
  if (code === 'PERSON_NOT_FOUND' && route?.body) param = 'person_id';
  const options = { param, ...(message ? { message } : {}) };
  const classes: Record<Exclude<ErrorType, 'rate_limit_error'>, new (code: ErrorCode, options: { param: string | null; message?: string }) => ApiError> = {
    authentication_error: AuthenticationError,
    permission_error: PermissionError,
    validation_error: ValidationError,
    not_found_error: NotFoundError,
    conflict_error: ConflictError,
    server_error: ServerError,
  };
  const error = type === 'rate_limit_error' ? new RateLimitError(17, { message: 'Too many requests: the limit is 100 per minute. Retry in 17 seconds.' }) : new classes[type](code, options);
  return { error: errorBody(error, 'req_a1b2c3d4e5f6', publicUrl) };
}

type Headers = Record<string, { $ref: string }>;

/** Headers every response of a REST route can carry; a write's also echo its Idempotency-Key. */
function commonHeaders(isWrite: boolean): Headers {
  return {
    'X-Request-Id': ref('headers', 'RequestId'),
    'correlation-id': ref('headers', 'CorrelationId'),
    'RateLimit-Limit': ref('headers', 'RateLimitLimit'),
    'RateLimit-Remaining': ref('headers', 'RateLimitRemaining'),
    'RateLimit-Reset': ref('headers', 'RateLimitReset'),
    ...(isWrite ? { 'Idempotency-Key': ref('headers', 'IdempotencyKey') } : {}),
  };
}

const probeHeaders: Headers = { 'X-Request-Id': ref('headers', 'RequestId'), 'correlation-id': ref('headers', 'CorrelationId') };

/**
 * One response per error status, whose schema narrows the envelope's type and code to what the
 * operation can answer with that status, with an example of the first (most specific) code.
 */
function errorResponses(codes: readonly ErrorCode[], headersOf: (status: number) => Headers, route: RestRoute | null, publicUrl: string): ZodOpenApiResponsesObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = statusOfCode(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses = [...byStatus].sort(([a], [b]) => a - b).map(([status, list]): [string, ZodOpenApiResponseObject] => {
    const first = list[0] as ErrorCode;
    const type = errorCatalog[first].type;
    const response: ZodOpenApiResponseObject = {
      // Each code links to its entry on the docs page (the playground renders descriptions as Markdown).
      description: `Error codes: ${list.map((code) => `[${code}](${publicUrl}/docs/errors#${code})`).join(', ')}.`,
      headers: headersOf(status),
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['error'],
            additionalProperties: false,
            properties: { error: { allOf: [ref('schemas', 'Error')], properties: { type: { const: type }, code: { type: 'string', enum: list } } } },
          },
          examples: { [first]: { summary: errorCatalog[first].message, value: exampleError(first, route, publicUrl) } },
        },
      },
    };
    return [String(status), response];
  });
  return Object.fromEntries(responses);
}

function operationOf(route: RestRoute, publicUrl: string): ZodOpenApiOperationObject {
  const isWrite = route.method !== 'GET';
  const codes = [...route.errors, ...(route.params ? (['INVALID_ID'] as const) : []), ...API_ERRORS, ...(isWrite ? WRITE_ERRORS : [])];
  const headers = commonHeaders(isWrite);
  const success: ZodOpenApiResponsesObject = Object.fromEntries(
    Object.entries(route.responses).map(([status, response]): [string, ZodOpenApiResponseObject] => [
      status,
      {
        description: response.description,
        headers: {
          ...headers,
          ...(isWrite ? { 'Idempotency-Replayed': ref('headers', 'IdempotencyReplayed') } : {}),
          ...(status === '201' ? { Location: ref('headers', 'Location') } : {}),
        },
        content: { 'application/json': { schema: response.schema } },
      },
    ]),
  );
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: route.description,
    tags: [route.tag],
    // Either scheme carries the same token; the scope is the one the route declares.
    security: [{ apiToken: [route.scope] }, { bearerAuth: [route.scope] }],
    requestParams: {
      ...(route.params ? { path: z.object(route.params) } : {}),
      ...(route.query ? { query: z.object(route.query) } : {}),
    },
    parameters: [PARAMETERS.RequestId, ...(isWrite ? [PARAMETERS.IdempotencyKey] : [])],
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
    responses: {
      ...success,
      ...errorResponses(codes, (status) => (status === 429 || status === 503 ? { ...headers, 'Retry-After': ref('headers', 'RetryAfter') } : headers), route, publicUrl),
    },
  };
}

const HealthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });
const ReadySchema = z.object({ status: z.literal('ready') }).meta({ id: 'Readiness' });
const UnavailableSchema = z.object({ status: z.literal('unavailable'), reason: z.string().meta({ example: 'database unreachable' }) }).meta({ id: 'Unavailable' });

/** Meta endpoints need no token and are not rate limited; only malformed requests are refused. */
function probe(
  operationId: string,
  summary: string,
  description: string,
  responses: Record<string, { description: string; schema: z.ZodType | oas31.SchemaObject }>,
  publicUrl: string,
): ZodOpenApiOperationObject {
  const success: ZodOpenApiResponsesObject = Object.fromEntries(
    Object.entries(responses).map(([status, response]): [string, ZodOpenApiResponseObject] => [
      status,
      { description: response.description, headers: probeHeaders, content: { 'application/json': { schema: response.schema } } },
    ]),
  );
  return {
    operationId,
    summary,
    description,
    tags: ['Meta'],
    security: [],
    parameters: [PARAMETERS.RequestId],
    responses: { ...success, ...errorResponses(REQUEST_ERRORS, () => probeHeaders, null, publicUrl) },
  };
}

/** The OpenAPI 3.1 document, generated from the route table the server mounts. */
export function openApiDocument(routes: readonly RestRoute[], publicUrl: string) {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    if (!(route.tag in TAGS)) throw new Error(`The REST route ${route.operationId} has the undeclared tag ${route.tag}.`);
    const path = REST_PREFIX + route.path;
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operationOf(route, publicUrl) };
  }
  paths[`${REST_PREFIX}/openapi.json`] = {
    get: probe(
      'getOpenApiDocument',
      'Get this OpenAPI document',
      'Returns this document: every REST route with its parameters, request and response schemas, error codes and the scope it needs.',
      { 200: { description: 'The OpenAPI 3.1 document.', schema: { type: 'object', description: 'An OpenAPI 3.1 document.' } } },
      publicUrl,
    ),
  };
  paths['/healthz'] = {
    get: probe('checkLiveness', 'Check liveness', 'Answers while the process is up, without touching the database.', { 200: { description: 'The process is up.', schema: HealthSchema } }, publicUrl),
  };
  paths['/readyz'] = {
    get: probe(
      'checkReadiness',
      'Check readiness',
      'Answers 200 when the database is reachable and every migration is applied, else 503: take the instance out of a load balancer while it fails.',
      {
        200: { description: 'The database is reachable and migrated.', schema: ReadySchema },
        503: { description: 'The database is unreachable or not migrated.', schema: UnavailableSchema },
      },
      publicUrl,
    ),
  };
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Feedback gateway REST API',
      version: '3.0.0',
      description:
        'The REST compatibility API; it runs the same operations as the GraphQL API at /graphql. Send the API token in x-api-token ' +
        '(or Authorization: Bearer). Every error has the envelope of the Error schema; its codes are explained at /docs/errors.',
      contact: { name: 'Feedback gateway', url: `${publicUrl}/docs/errors` },
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: publicUrl, description: 'This server.' }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    security: [{ apiToken: [] }, { bearerAuth: [] }],
    components: {
      securitySchemes: SECURITY_SCHEMES,
      schemas: { Error: ErrorSchema },
      headers: HEADERS,
    },
    paths,
  });
}
