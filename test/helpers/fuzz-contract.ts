import { expect } from 'vitest';
import { type ErrorCode, errorCatalog } from '../../src/errors/catalog.ts';
import type { RestRoute } from '../../src/rest/route.ts';
import { type ErrorEnvelope, expectErrorEnvelope, type HttpReply, LEAKS, PUBLIC_URL } from './http.ts';
import { SPEC_ERROR_STATUSES, type SpecErrorType } from './spec.ts';

const typeByStatus = new Map<number, SpecErrorType>(Object.entries(SPEC_ERROR_STATUSES).map(([type, status]) => [status, type as SpecErrorType]));

function isCatalogCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errorCatalog, code);
}

interface FieldErrorLike {
  param: unknown;
  code: unknown;
  message: unknown;
}

/**
 * SPEC §5 for the failing fields of a validation error: each names a param and a validation code;
 * one failing field gives the top level its code and param, several make it VALIDATION_FAILED.
 */
function expectFieldErrors(code: string, param: string | null, errors: readonly FieldErrorLike[] | undefined, where: string): void {
  expect(errors, `${where}: a validation error lists its failing fields in errors`).toEqual(expect.any(Array));
  const list = errors ?? [];
  for (const field of list) {
    expect(field.param, `${where}: every failing field names its param`).toEqual(expect.any(String));
    expect(isCatalogCode(field.code) && errorCatalog[field.code].type === 'validation_error', `${where}: ${String(field.code)} is a validation code of the catalog`).toBe(true);
    expect(typeof field.message === 'string' && field.message.length > 0, `${where}: every failing field has a message`).toBe(true);
  }
  if (code === 'VALIDATION_FAILED') {
    expect(param, `${where}: VALIDATION_FAILED names no single param`).toBeNull();
    expect(list.length, `${where}: VALIDATION_FAILED lists several fields`).toBeGreaterThan(1);
  } else if (param !== null) {
    expect(list.map((field) => ({ code: field.code, param: field.param })), `${where}: one failing field gives the top level its code and param`).toEqual([{ code, param }]);
  } else {
    expect(list, `${where}: an error about no field in particular lists none`).toEqual([]);
  }
}

/**
 * Any SPEC §5 error envelope: the type follows the status, the code is in the catalog under that
 * type, request_id is the X-Request-Id, and a validation error lists its failing fields.
 */
export function expectSomeErrorEnvelope(reply: HttpReply): ErrorEnvelope {
  const type = typeByStatus.get(reply.status);
  expect(type, `status ${reply.status} is one of the SPEC §5 table`).toBeDefined();
  let body: unknown;
  expect(() => {
    body = JSON.parse(reply.text);
  }, 'the error body is JSON').not.toThrow();
  const error = (body as { error?: Partial<ErrorEnvelope> } | null)?.error;
  expect(error, 'the body is { error: {…} }').toEqual(expect.any(Object));
  const code = error?.code;
  expect(isCatalogCode(code) && errorCatalog[code].type === type, `${String(code)} is a ${String(type)} code of the catalog`).toBe(true);
  const param = error?.param ?? null;
  if (type === 'validation_error') expectFieldErrors(String(code), param, error?.errors, 'REST');
  return expectErrorEnvelope(reply, {
    status: reply.status,
    type: String(type),
    code: String(code),
    param,
    ...(type === 'validation_error' ? { errors: (error?.errors ?? []).map((field) => ({ param: field.param, code: field.code })) } : {}),
  });
}

export type Outcome = 'accepted' | 'rejected';

/**
 * SPEC §5 and §6 for any answer of a REST route: never a 5xx; a 2xx is a status the route documents
 * with a body of its documented schema; anything else is the error envelope.
 */
export function expectRestContract(route: RestRoute, reply: HttpReply, sentRequestId: string | null): Outcome {
  expect(reply.status, 'never a server error').toBeLessThan(500);
  if (sentRequestId !== null) expect(reply.headers.get('x-request-id'), 'a well-formed X-Request-Id is echoed').toBe(sentRequestId);
  if (reply.status >= 200 && reply.status < 300) {
    const documented = route.responses[reply.status as 200 | 201];
    expect(documented, `${reply.status} is a status ${route.method} ${route.path} documents`).toBeDefined();
    const parsed = documented?.schema.safeParse(JSON.parse(reply.text));
    expect(parsed?.error?.issues ?? [], 'the success body matches the documented schema').toEqual([]);
    return 'accepted';
  }
  expectSomeErrorEnvelope(reply);
  return 'rejected';
}

/** The fields of the REST error object, as GraphQL error extensions or an Error union member carry them. */
interface GraphQLErrorFields {
  type?: unknown;
  code?: unknown;
  message?: unknown;
  retryable?: unknown;
  requestId?: unknown;
  request_id?: unknown;
  docUrl?: unknown;
  doc_url?: unknown;
  param?: unknown;
  suggestion?: unknown;
  errors?: FieldErrorLike[];
}

function expectGraphQLErrorFields(fields: GraphQLErrorFields, requestId: string | undefined, where: string): void {
  const { type, code } = fields;
  expect(isCatalogCode(code) && errorCatalog[code].type === type, `${where}: ${String(code)} is a ${String(type)} code of the catalog`).toBe(true);
  expect(type, `${where}: never a server error`).not.toBe('server_error');
  expect(fields.requestId ?? fields.request_id, `${where}: carries the request id of X-Request-Id`).toBe(requestId);
  expect(fields.docUrl ?? fields.doc_url, `${where}: doc_url points at the code`).toBe(`${PUBLIC_URL}/docs/errors#${String(code)}`);
  expect(typeof fields.message === 'string' && fields.message.length > 0, `${where}: has a message`).toBe(true);
  expect(typeof fields.suggestion === 'string' && fields.suggestion.length > 0, `${where}: has a suggestion`).toBe(true);
  expect(fields.retryable, `${where}: a client error is not retryable`).toBe(false);
  if (type === 'validation_error') expectFieldErrors(String(code), (fields.param as string | null | undefined) ?? null, fields.errors, where);
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message?: unknown; extensions?: GraphQLErrorFields }[];
}

function isErrorMember(value: unknown): value is GraphQLErrorFields & { __typename: string } {
  return typeof value === 'object' && value !== null && 'code' in value;
}

/**
 * SPEC §9 for any answer to a mutation: never a 5xx; either the payload union (a success, or an
 * Error member with the envelope's fields) or GraphQL errors whose extensions carry the envelope,
 * with the status of their type when it is not 200.
 */
export function expectGraphQLContract(field: string, reply: HttpReply): Outcome {
  expect(reply.status, 'never a server error').toBeLessThan(500);
  const requestId = reply.headers.get('x-request-id') ?? undefined;
  // A replay (SPEC §7) answers the stored body, whose errors carry the request id of the first request.
  const replayed = reply.headers.get('idempotency-replayed') === 'true';
  expect(reply.text).not.toMatch(LEAKS);
  const body = JSON.parse(reply.text) as GraphQLBody;
  if (body.errors !== undefined) {
    expect(body.errors.length, 'errors, when present, is a non-empty list').toBeGreaterThan(0);
    for (const error of body.errors) {
      expect(error.extensions, 'a GraphQL error carries the error envelope in extensions').toEqual(expect.objectContaining({ type: expect.any(String), code: expect.any(String) }));
      expectGraphQLErrorFields(error.extensions ?? {}, requestId, 'GraphQL error extensions');
    }
    const type = body.errors[0]?.extensions?.type;
    if (reply.status !== 200) expect(typeByStatus.get(reply.status), 'a non-200 status is the one of the error type').toBe(type);
    return 'rejected';
  }
  expect(reply.status, 'a mutation that ran answers 200').toBe(200);
  const payload = body.data?.[field];
  expect(payload, `data.${field} is the payload union`).toEqual(expect.objectContaining({ __typename: expect.any(String) }));
  if (isErrorMember(payload)) {
    expectGraphQLErrorFields(payload, requestId, `${payload.__typename} member`);
    return 'rejected';
  }
  // A batch answers per item: each is a success or an Error member of its own.
  const results = (payload as { results?: unknown[] }).results;
  for (const [index, item] of (results ?? []).entries()) {
    if (isErrorMember(item)) expectGraphQLErrorFields(item, replayed ? (item.requestId as string | undefined) : requestId, `results[${index}] ${item.__typename}`);
  }
  return 'accepted';
}
