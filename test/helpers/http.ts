import http from 'node:http';
import { expect } from 'vitest';
import type { RestPerson, RestRecord, RestSource } from './resources.ts';
import { CLIENT_REQUEST_ID, REST_BASE, SPEC_ERROR_STATUSES, type SpecErrorType, specStatusOf } from './spec.ts';

// The one HTTP client of the tests, over node:http so that it sends what a test means to send (any
// method, header value or body, chunked or not), and the one check of the SPEC §5 error envelope.
// Only what no HTTP client can send (bytes that break HTTP, requests that arrive slowly or never
// end) goes through raw-socket.ts.

/** The PUBLIC_URL every test server is started with: the base of each doc_url. */
export const PUBLIC_URL = 'http://gateway.test';

export type Query = Readonly<Record<string, string | number | boolean>> | readonly (readonly [string, string])[];

export interface HttpRequest {
  /** GET unless told otherwise. */
  method?: string;
  /** Sent exactly as written: percent-encode what must be. */
  path: string;
  /** Appended to the path as a query string. */
  query?: Query;
  headers?: Readonly<Record<string, string>>;
  /** A JSON value, sent as its text with Content-Type: application/json unless `headers` name another. */
  json?: unknown;
  /** Sent as is, with a Content-Length. */
  body?: string | Buffer;
  /** Sent one after the other with Transfer-Encoding: chunked (no Content-Length). */
  chunks?: readonly (string | Buffer)[];
  /** The local address to send from (any of 127.0.0.0/8 reaches this machine). */
  localAddress?: string;
  /** Gives up on the request; it then rejects with node's AbortError. */
  signal?: AbortSignal;
}

export interface HttpReply<T = unknown> {
  status: number;
  headers: Headers;
  /** The body as received, e.g. to compare a replay byte for byte. */
  text: string;
  /** The body parsed when its content type is JSON (`application/json`, `…+json`), else undefined. */
  body: T;
}

function hasHeader(headers: Readonly<Record<string, string>>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function withQuery(path: string, query: Query | undefined): string {
  if (query === undefined) return path;
  const pairs = Array.isArray(query) ? query : Object.entries(query).map(([key, value]) => [key, String(value)]);
  const search = new URLSearchParams(pairs as [string, string][]).toString();
  if (search === '') return path;
  return `${path}${path.includes('?') ? '&' : '?'}${search}`;
}

function replyOf<T>(response: http.IncomingMessage, text: string): HttpReply<T> {
  const headers = new Headers();
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) headers.append(response.rawHeaders[i] ?? '', response.rawHeaders[i + 1] ?? '');
  let body: unknown;
  if (/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(headers.get('content-type') ?? '') && text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${response.statusCode} answered ${headers.get('content-type')} that is not JSON: ${text.slice(0, 500)}`);
    }
  }
  return { status: response.statusCode ?? 0, headers, text, body: body as T };
}

/**
 * Sends one request to `base` (a server's URL) and reads the whole answer. The server may answer
 * before it has read the whole body (a body too large); the answer still counts.
 */
export function send<T = unknown>(base: string, request: HttpRequest): Promise<HttpReply<T>> {
  const { hostname, port } = new URL(base);
  const headers: Record<string, string> = { ...request.headers };
  let body = request.body;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
  }
  if (body !== undefined && !hasHeader(headers, 'content-length')) headers['content-length'] = String(Buffer.byteLength(body));
  const options: http.RequestOptions = { host: hostname, port, path: withQuery(request.path, request.query), method: request.method ?? 'GET', headers };
  if (request.localAddress !== undefined) options.localAddress = request.localAddress;
  if (request.signal !== undefined) options.signal = request.signal;
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = http.request(options, (response) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.on('end', () => {
        try {
          resolve(replyOf<T>(response, Buffer.concat(parts).toString('utf8')));
        } catch (error) {
          reject(error);
        }
      });
      response.on('error', reject);
    });
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (request.chunks) {
      for (const chunk of request.chunks) outgoing.write(chunk);
      outgoing.end();
    } else {
      outgoing.end(body);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// REST

export interface RestRequest extends Omit<HttpRequest, 'method' | 'path'> {
  /** Overrides the client's token; null sends none. */
  token?: string | null;
  /** Sent as Idempotency-Key. */
  key?: string;
}

/** Sends requests below `${base}/v3/rest`, with the client's token unless told otherwise. */
export class RestClient {
  readonly base: string;
  readonly token: string | null;

  constructor(base: string, token: string | null = null) {
    this.base = base;
    this.token = token;
  }

  /** The same client with another token (null: none). */
  as(token: string | null): RestClient {
    return new RestClient(this.base, token);
  }

  send<T = unknown>(method: string, path: string, request: RestRequest = {}): Promise<HttpReply<T>> {
    const { token: own, key, headers: extra, ...rest } = request;
    const token = own === undefined ? this.token : own;
    const headers: Record<string, string> = { ...extra };
    if (token) headers['x-api-token'] = token;
    if (key !== undefined) headers['idempotency-key'] = key;
    return send<T>(this.base, { ...rest, method, path: `${REST_BASE}${path}`, headers });
  }

  get<T = unknown>(path: string, request?: RestRequest): Promise<HttpReply<T>> {
    return this.send<T>('GET', path, request);
  }

  post<T = unknown>(path: string, json: unknown, request: RestRequest = {}): Promise<HttpReply<T>> {
    return this.send<T>('POST', path, { ...request, json });
  }

  put<T = unknown>(path: string, json: unknown, request: RestRequest = {}): Promise<HttpReply<T>> {
    return this.send<T>('PUT', path, { ...request, json });
  }

  patch<T = unknown>(path: string, json: unknown, request: RestRequest = {}): Promise<HttpReply<T>> {
    return this.send<T>('PATCH', path, { ...request, json });
  }

  delete<T = unknown>(path: string, request?: RestRequest): Promise<HttpReply<T>> {
    return this.send<T>('DELETE', path, request);
  }

  /** Creates a source and fails the test unless the answer is 201. */
  async createSource(json: Record<string, unknown>): Promise<RestSource> {
    const response = await this.post<RestSource>('/feedback-sources', json);
    expect(response.status, response.text).toBe(201);
    return response.body;
  }

  /** Upserts a person and fails the test unless the answer is 200 or 201. */
  async upsertPerson(json: Record<string, unknown>): Promise<RestPerson> {
    const response = await this.put<RestPerson>('/people', json);
    expect([200, 201], response.text).toContain(response.status);
    return response.body;
  }

  /** Ingests a record and fails the test unless the answer is 201. */
  async ingest(sourceId: number, json: Record<string, unknown>): Promise<RestRecord> {
    const response = await this.post<RestRecord>(`/feedback-sources/${sourceId}/records`, json);
    expect(response.status, response.text).toBe(201);
    return response.body;
  }
}

// ---------------------------------------------------------------------------------------------
// GraphQL

export interface GraphQLError {
  message: string;
  path?: (string | number)[];
  /** The fields of the error envelope (SPEC §9), for errors outside a union. */
  extensions?: Record<string, unknown>;
}

export interface GraphQLBody<T> {
  data?: T | null;
  errors?: GraphQLError[];
}

export type GraphQLReply<T = Record<string, unknown>> = HttpReply<GraphQLBody<T>>;

export interface GraphQLRequest {
  /** None when null or empty. */
  token?: string | null;
  /** Sent as Idempotency-Key. */
  key?: string;
  headers?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

/** POSTs a GraphQL operation to `${base}/graphql`, asking for application/graphql-response+json. */
export function graphql<T = Record<string, unknown>>(base: string, query: string, variables: Record<string, unknown> = {}, request: GraphQLRequest = {}): Promise<GraphQLReply<T>> {
  const headers: Record<string, string> = { accept: 'application/graphql-response+json' };
  if (request.token) headers['x-api-token'] = request.token;
  if (request.key !== undefined) headers['idempotency-key'] = request.key;
  return send<GraphQLBody<T>>(base, {
    method: 'POST',
    path: '/graphql',
    headers: { ...headers, ...request.headers },
    json: { query, variables },
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  });
}

/** The fields a mutation's union member may carry: its success type's `id`/`deleted`, or an Error's. */
export interface UnionMember {
  __typename: string;
  id?: string;
  deleted?: boolean;
  type?: string;
  code?: string;
  message?: string;
  param?: string | null;
  requestId?: string;
  docUrl?: string;
  suggestion?: string;
  retryable?: boolean;
  errors?: { param: string; code: string; message: string }[];
}

// ---------------------------------------------------------------------------------------------
// The error envelope (SPEC §5)

export interface FieldError {
  param: string;
  code: string;
  message: string;
}

/** The object under `error` in every non-2xx REST response, and in a GraphQL error's `extensions`. */
export interface ErrorEnvelope {
  type: string;
  code: string;
  message: string;
  retryable: boolean;
  request_id: string;
  doc_url: string;
  param: string | null;
  suggestion: string;
  /** The failing fields of a validation error. */
  errors?: FieldError[];
  /** Rate limits only. */
  retry_after_seconds?: number;
}

export interface ExpectedError {
  /**
   * By default the status of the type, or of the code where SPEC §5 gives it one (SERVICE_OVERLOADED),
   * which a REST error must have anyway; a GraphQL error beside data comes with 200.
   */
  status?: number;
  type: string;
  code: string;
  param: string | null;
  /** Text the message must contain, such as the failing value. */
  message?: string;
  /**
   * The failing fields of a validation error, in any order. By default the one field of `param`
   * and `code` (none without a param); VALIDATION_FAILED lists several.
   */
  errors?: { param: string; code: string }[];
  /** False unless told: SPEC §5 makes only rate limits and transient server errors retryable. */
  retryable?: boolean;
}

// What must never reach a client (SPEC §5): stack frames, SQL text, internal class names.
export const LEAKS = /\n\s+at\s|node_modules|\.[cm]?[jt]s:\d+|FST_ERR|ZodError|\$Zod|MikroORM|DriverException|\b(Syntax|Type|Range|Reference)Error\b|\bselect\b[^"]*\bfrom\b|\binsert into\b|violates .* constraint/i;

/**
 * The camelCase words of a REST error message outside quotes: GraphQL names leaking into REST (quoted
 * text is the client's own value; a quote the message cut short runs to its end). A route-not-found
 * message echoes the client's path, so it is exempt.
 */
export function graphqlNamesIn(error: { code: string; message: string; param: string | null; errors?: { param: string; message: string }[] }): string[] {
  if (error.code === 'ROUTE_NOT_FOUND') return [];
  // A param is the REST name as the client sent it, even an unknown key such as `fooBar`.
  const sent = new Set([error.param, ...(error.errors ?? []).map((field) => field.param)].flatMap((param) => param?.split(/[^A-Za-z0-9_]+/) ?? []));
  const texts = [error.message, ...(error.errors ?? []).map((field) => field.message)];
  const words = texts.flatMap((text) => text.replace(/"(?:[^"\\]|\\.)*"?|'[^']*'/g, '').match(/\b[a-z]+[A-Z][A-Za-z]*\b/g) ?? []);
  return words.filter((word) => !sent.has(word));
}

/** SPEC §5: the HTTP status of an error, its type's unless its code has its own (SERVICE_OVERLOADED). */
function statusOfError(type: string, code: string): number {
  const known = (name: string): name is SpecErrorType => Object.hasOwn(SPEC_ERROR_STATUSES, name);
  expect(known(type), `${type} is a type of SPEC §5`).toBe(true);
  return known(type) ? specStatusOf(type, code) : 0;
}

/** SPEC §5: a shed request says when to retry, in whole seconds. */
function expectRetryAfter(reply: HttpReply<unknown>): void {
  expect(reply.headers.get('retry-after'), 'SERVICE_OVERLOADED comes with Retry-After').toMatch(/^[1-9]\d*$/);
}

/** Asserts the status and headers of an error answer and returns its request id. */
function expectErrorAnswer(reply: HttpReply<unknown>, expected: ExpectedError): string {
  expect(reply.status, reply.text).toBe(expected.status ?? statusOfError(expected.type, expected.code));
  expect(reply.headers.get('content-type')).toMatch(/^application\/([\w.-]+\+)?json(;|$)/);
  const requestId = reply.headers.get('x-request-id') ?? 'no X-Request-Id header';
  expect(requestId).toMatch(CLIENT_REQUEST_ID);
  expect(reply.headers.get('correlation-id')).toBe(requestId);
  expect(reply.text).not.toMatch(LEAKS);
  return requestId;
}

/** Asserts every field of one error object against what is expected of it. */
function expectEnvelopeFields(error: ErrorEnvelope, expected: ExpectedError, requestId: string): void {
  expect(error).toMatchObject({
    type: expected.type,
    code: expected.code,
    param: expected.param,
    retryable: expected.retryable ?? false,
    request_id: requestId,
    doc_url: `${PUBLIC_URL}/docs/errors#${expected.code}`,
  });
  expect(error.message).toEqual(expect.any(String));
  expect(error.message.length).toBeGreaterThan(0);
  if (expected.message !== undefined) expect(error.message).toContain(expected.message);
  expect(error.suggestion).toEqual(expect.any(String));
  expect(error.suggestion.trim().length).toBeGreaterThan(0);
  if (expected.type === 'validation_error') {
    const listed = (error.errors ?? []).map(({ param, code }) => ({ param, code }));
    if (expected.errors === undefined && expected.code === 'VALIDATION_FAILED') {
      expect(listed.length, 'VALIDATION_FAILED lists several fields').toBeGreaterThan(1);
    } else {
      const fields = expected.errors ?? (expected.param === null ? [] : [{ param: expected.param, code: expected.code }]);
      // SPEC §5 lists every failing field but no order.
      const order = (a: { param: string; code: string }, b: { param: string; code: string }) => `${a.param} ${a.code}`.localeCompare(`${b.param} ${b.code}`);
      expect(listed.sort(order)).toEqual([...fields].sort(order));
    }
    for (const field of error.errors ?? []) expect(field.message.length).toBeGreaterThan(0);
  }
  if (expected.code === 'RATE_LIMITED') {
    expect(Number.isInteger(error.retry_after_seconds) && Number(error.retry_after_seconds) > 0, 'retry_after_seconds is a whole number of seconds').toBe(true);
  }
}

/**
 * Asserts the whole SPEC §5 envelope of a REST error: the status of its type, JSON, a request_id
 * equal to the X-Request-Id and correlation-id headers, code, param, message, doc_url, suggestion,
 * retryable, the failing fields of a validation error, REST names only and nothing internal.
 */
export function expectErrorEnvelope(reply: HttpReply<unknown>, expected: ExpectedError): ErrorEnvelope {
  const requestId = expectErrorAnswer(reply, expected);
  expect(reply.status, 'the status always follows the type, or the code where SPEC §5 gives it its own').toBe(statusOfError(expected.type, expected.code));
  expect(reply.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(reply.body).toEqual({ error: expect.any(Object) });
  const { error } = reply.body as { error: ErrorEnvelope };
  expectEnvelopeFields(error, expected, requestId);
  expect(graphqlNamesIn(error), error.message).toEqual([]);
  if (expected.code === 'RATE_LIMITED') expect(reply.headers.get('retry-after')).toBe(String(error.retry_after_seconds));
  if (expected.code === 'SERVICE_OVERLOADED') expectRetryAfter(reply);
  return error;
}

/**
 * The same for a GraphQL error outside a union (SPEC §9): every error of the answer carries the
 * envelope in its `extensions`. Returns the first.
 */
export function expectGraphQLErrorEnvelope(reply: GraphQLReply<unknown>, expected: ExpectedError): ErrorEnvelope {
  const requestId = expectErrorAnswer(reply, expected);
  // The status of the type, unless a field answered data beside the error (README, API).
  expect([200, statusOfError(expected.type, expected.code)]).toContain(reply.status);
  const errors = reply.body?.errors ?? [];
  expect(errors.length, reply.text).toBeGreaterThan(0);
  for (const { extensions } of errors) expectEnvelopeFields(extensions as unknown as ErrorEnvelope, expected, requestId);
  const first = errors[0]?.extensions as unknown as ErrorEnvelope;
  if (expected.code === 'RATE_LIMITED') expect(reply.headers.get('retry-after')).toBe(String(first.retry_after_seconds));
  if (expected.code === 'SERVICE_OVERLOADED') expectRetryAfter(reply);
  return first;
}
