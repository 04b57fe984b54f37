import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { type ErrorCode, errorCatalog, errorTypes } from '../errors/catalog.ts';
import { REST_PREFIX } from './register.ts';
import type { RestRoute } from './route.ts';
import { ErrorSchema } from './schemas.ts';

/** Failures any authenticated endpoint can answer, besides those a route lists. */
const COMMON_ERRORS: readonly ErrorCode[] = [
  'API_TOKEN_MISSING',
  'API_TOKEN_INVALID',
  'API_TOKEN_EXPIRED',
  'API_TOKEN_REVOKED',
  'WRONG_AUTH_HEADER',
  'INSUFFICIENT_SCOPE',
  'RATE_LIMITED',
  'INTERNAL_ERROR',
  'DATABASE_UNAVAILABLE',
];
const BODY_ERRORS: readonly ErrorCode[] = ['INVALID_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE'];
const WRITE_ERRORS: readonly ErrorCode[] = ['INVALID_IDEMPOTENCY_KEY', 'IDEMPOTENCY_KEY_REUSE', 'IDEMPOTENCY_KEY_MISMATCH', 'IDEMPOTENCY_KEY_IN_PROGRESS'];

const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .meta({ description: '1–255 printable ASCII characters. A retry with the same key and body replays the stored response instead of writing again.' }),
});

function errorResponses(codes: readonly ErrorCode[]): ZodOpenApiResponsesObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = errorTypes[errorCatalog[code].type];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      { description: `Error codes: ${list.join(', ')}.`, content: { 'application/json': { schema: ErrorSchema } } },
    ]),
  );
}

function operationOf(route: RestRoute): ZodOpenApiOperationObject {
  const isWrite = route.method !== 'GET';
  const codes = [
    ...route.errors,
    ...COMMON_ERRORS,
    ...(route.body ? BODY_ERRORS : []),
    ...(isWrite ? WRITE_ERRORS : []),
    ...(route.params ? (['INVALID_ID'] as const) : []),
    ...(route.query ? (['INVALID_FIELD_VALUE'] as const) : []),
  ];
  const success = Object.fromEntries(
    Object.entries(route.responses).map(([status, response]) => [status, { description: response.description, content: { 'application/json': { schema: response.schema } } }]),
  );
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    requestParams: {
      ...(route.params ? { path: z.object(route.params) } : {}),
      ...(route.query ? { query: z.object(route.query) } : {}),
      ...(isWrite ? { header: IdempotencyHeader } : {}),
    },
    ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
    responses: { ...success, ...errorResponses(codes) },
  };
}

const probe = (operationId: string, summary: string, responses: ZodOpenApiResponsesObject): ZodOpenApiOperationObject => ({
  operationId,
  summary,
  tags: ['Operations'],
  security: [],
  responses,
});

/** The OpenAPI 3.1 document, generated from the route table the server mounts. */
export function openApiDocument(routes: readonly RestRoute[], publicUrl: string) {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const path = REST_PREFIX + route.path;
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operationOf(route) };
  }
  paths['/healthz'] = { get: probe('checkLiveness', 'Check liveness', { 200: { description: 'The process is up.' } }) };
  paths['/readyz'] = {
    get: probe('checkReadiness', 'Check readiness', {
      200: { description: 'The database is reachable and migrated.' },
      503: { description: 'The database is unreachable or not migrated.' },
    }),
  };
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Feedback gateway REST API',
      version: '3.0.0',
      description: 'The REST compatibility API; it runs the same operations as the GraphQL API at /graphql. Error codes: /docs/errors.',
    },
    servers: [{ url: publicUrl }],
    security: [{ apiToken: [] }],
    components: {
      securitySchemes: {
        apiToken: { type: 'apiKey', in: 'header', name: 'x-api-token', description: 'An API token; Authorization: Bearer <token> is accepted too.' },
      },
    },
    paths,
  });
}
