import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { graphqlNamesIn } from './hostile-http.ts';
import { PUBLIC_URL } from './server.ts';

/** RFC 3339 in UTC, as SPEC §6 requires of every REST timestamp. */
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export interface RestSource {
  id: number;
  name: string;
  type: string;
  description: string | null;
  record_count: number;
  created_at: string;
  updated_at: string;
}

export interface RestCompany {
  id: number;
  name: string;
  domain: string | null;
}

export interface RestPerson {
  id: number;
  email: string | null;
  external_id: string | null;
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  boundary: string;
  company_id: number | null;
  company: RestCompany | null;
  created_at: string;
  updated_at: string;
}

export interface RestField {
  category: string;
  type: string;
  name: string;
  value: unknown;
}

export interface RestRecord {
  id: number;
  source_id: number;
  person_id: number | null;
  external_id: string | null;
  display_ts: string;
  fields: RestField[];
  created_at: string;
}

export interface RestPage<T> {
  data: T[];
  next_cursor: string | null;
}

export interface RestDeleted {
  id: number;
  deleted: boolean;
}

/** The object under `error` in every non-2xx REST response (SPEC §5). */
export interface RestErrorObject {
  type: string;
  code: string;
  message: string;
  retryable: boolean;
  request_id: string;
  doc_url: string;
  param: string | null;
  suggestion: string;
  errors?: { param: string; code: string; message: string }[];
}

export interface RestReply<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RestRequest {
  /** Overrides the client's token; `null` sends none. */
  token?: string | null;
  body?: unknown;
  query?: Record<string, string | number | boolean>;
  headers?: Record<string, string>;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Sends requests to `${base}/v3/rest` over real HTTP, with the client's token unless told otherwise. */
export class RestClient {
  readonly base: string;
  readonly token: string | null;

  constructor(base: string, token: string | null) {
    this.base = base;
    this.token = token;
  }

  as(token: string | null): RestClient {
    return new RestClient(this.base, token);
  }

  async send<T = unknown>(method: Method, path: string, request: RestRequest = {}): Promise<RestReply<T>> {
    const token = request.token === undefined ? this.token : request.token;
    const headers: Record<string, string> = { ...request.headers };
    if (token) headers['x-api-token'] = token;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const search = request.query ? `?${new URLSearchParams(Object.entries(request.query).map(([key, value]) => [key, String(value)]))}` : '';
    const response = await fetch(`${this.base}/v3/rest${path}${search}`, { method, headers, body: request.body === undefined ? undefined : JSON.stringify(request.body) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? (undefined as T) : (JSON.parse(text) as T) };
  }

  get<T = unknown>(path: string, request?: RestRequest): Promise<RestReply<T>> {
    return this.send<T>('GET', path, request);
  }

  post<T = unknown>(path: string, body: unknown, request: RestRequest = {}): Promise<RestReply<T>> {
    return this.send<T>('POST', path, { ...request, body });
  }

  put<T = unknown>(path: string, body: unknown, request: RestRequest = {}): Promise<RestReply<T>> {
    return this.send<T>('PUT', path, { ...request, body });
  }

  patch<T = unknown>(path: string, body: unknown, request: RestRequest = {}): Promise<RestReply<T>> {
    return this.send<T>('PATCH', path, { ...request, body });
  }

  delete<T = unknown>(path: string, request?: RestRequest): Promise<RestReply<T>> {
    return this.send<T>('DELETE', path, request);
  }

  /** Creates a source and fails the test unless the answer is 201. */
  async createSource(body: Record<string, unknown>): Promise<RestSource> {
    const response = await this.post<RestSource>('/feedback-sources', body);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  }

  /** Upserts a person and fails the test unless the answer is 200 or 201. */
  async upsertPerson(body: Record<string, unknown>): Promise<RestPerson> {
    const response = await this.put<RestPerson>('/people', body);
    expect([200, 201], JSON.stringify(response.body)).toContain(response.status);
    return response.body;
  }

  /** Ingests a record and fails the test unless the answer is 201. */
  async ingest(sourceId: number, body: Record<string, unknown>): Promise<RestRecord> {
    const response = await this.post<RestRecord>(`/feedback-sources/${sourceId}/records`, body);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  }
}

/** The smallest valid record body: one string content field. */
export function textRecord(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { fields: [{ category: 'content', type: 'string', name: 'text', value: text }], ...extra };
}

export interface ExpectedError {
  status: number;
  type: string;
  code: string;
  param: string | null;
  /** Text the message must contain, e.g. the failing value. */
  message?: string;
}

/**
 * Asserts the whole SPEC §5 envelope: status following the type, code, param, message, doc_url,
 * suggestion, retryable, and a request id equal to the X-Request-Id and correlation-id headers.
 */
export function expectRestError(response: RestReply<unknown>, expected: ExpectedError): RestErrorObject {
  expect(response.status, JSON.stringify(response.body)).toBe(expected.status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const requestId = response.headers.get('x-request-id');
  expect(requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(response.headers.get('correlation-id')).toBe(requestId);
  const body = response.body as { error?: RestErrorObject };
  const error = body.error;
  if (!error) throw new Error(`expected an error envelope, got ${JSON.stringify(response.body)}`);
  expect(error).toMatchObject({
    type: expected.type,
    code: expected.code,
    param: expected.param,
    retryable: false,
    request_id: requestId,
    doc_url: `${PUBLIC_URL}/docs/errors#${expected.code}`,
  });
  expect(error.message).toEqual(expect.any(String));
  expect(error.message.length).toBeGreaterThan(0);
  if (expected.message !== undefined) expect(error.message).toContain(expected.message);
  expect(graphqlNamesIn(error), error.message).toEqual([]);
  expect(error.suggestion).toEqual(expect.any(String));
  expect(error.suggestion.trim().length).toBeGreaterThan(0);
  return error;
}

/** A realistic body from test/fixtures/examples, without the `_expect` note of the invalid ones. */
export async function loadExample<T = Record<string, unknown>>(name: string): Promise<T> {
  const text = await readFile(new URL(`../fixtures/examples/${name}`, import.meta.url), 'utf8');
  const { _expect: _note, ...body } = JSON.parse(text) as Record<string, unknown>;
  return body as T;
}

export interface Example {
  source: Record<string, unknown>;
  person: Record<string, unknown>;
  record: { fields: RestField[] } & Record<string, unknown>;
}
