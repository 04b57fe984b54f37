import http from 'node:http';
import { expect } from 'vitest';
import { PUBLIC_URL } from './server.ts';

/** A response read as raw text, whatever its content type. */
export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RawRequest {
  method: string;
  /** Sent exactly as given: percent-encode what must be. */
  path: string;
  headers?: Record<string, string>;
  /** Sent as is, with a Content-Length. */
  body?: string | Buffer;
  /** Sent one after the other with Transfer-Encoding: chunked (no Content-Length). */
  chunks?: readonly (string | Buffer)[];
}

/**
 * Sends a request through node:http, which sends what fetch refuses or rewrites: any body with any
 * content type, chunked bodies, a DELETE with an empty JSON body. The server may answer before it
 * has read the whole body (a body too large); the answer still counts.
 */
export function sendRaw(base: string, request: RawRequest): Promise<RawReply> {
  const url = new URL(base);
  const headers: Record<string, string> = { ...request.headers };
  if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = http.request({ host: url.hostname, port: url.port, path: request.path, method: request.method, headers }, (response) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(parts).toString('utf8') }));
      response.on('error', reject);
    });
    outgoing.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (request.chunks) {
      for (const chunk of request.chunks) outgoing.write(chunk);
      outgoing.end();
    } else {
      outgoing.end(request.body);
    }
  });
}

/** The object under `error` in every non-2xx REST response (SPEC §5). */
export interface ErrorEnvelope {
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

export interface ExpectedEnvelope {
  status: number;
  type: string;
  code: string;
  param: string | null;
  /** Text the message must contain, such as the failing value. */
  message?: string;
  /** The failing fields of a validation error, in any order; by default the one field of `param` and `code`. */
  errors?: { param: string; code: string }[];
}

// What must never reach a client (SPEC §5): stack frames, SQL text, internal class names.
export const LEAKS = /\n\s+at\s|node_modules|\.[cm]?[jt]s:\d+|FST_ERR|ZodError|\$Zod|MikroORM|DriverException|\b(Syntax|Type|Range|Reference)Error\b|\bselect\b[^"]*\bfrom\b|\binsert into\b|violates .* constraint/i;

/**
 * The camelCase words of a REST error message outside quotes: GraphQL names leaking into REST (quoted
 * text is the client's own value). A route-not-found message echoes the client's path, so it is exempt.
 */
export function graphqlNamesIn(error: { code: string; message: string; param: string | null; errors?: { param: string; message: string }[] }): string[] {
  if (error.code === 'ROUTE_NOT_FOUND') return [];
  // A param is the REST name as the client sent it, even an unknown key such as `fooBar`.
  const sent = new Set([error.param, ...(error.errors ?? []).map((field) => field.param)].flatMap((param) => param?.split(/[^A-Za-z0-9_]+/) ?? []));
  const texts = [error.message, ...(error.errors ?? []).map((field) => field.message)];
  const words = texts.flatMap((text) => text.replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, '').match(/\b[a-z]+[A-Z][A-Za-z]*\b/g) ?? []);
  return words.filter((word) => !sent.has(word));
}

/**
 * Asserts the whole SPEC §5 envelope of an error: JSON, the status of its type, code and param, a
 * request_id equal to the X-Request-Id and correlation-id headers, doc_url, a message and a
 * suggestion, the failing fields of a validation error, and nothing internal.
 */
export function expectErrorEnvelope(reply: RawReply, expected: ExpectedEnvelope): ErrorEnvelope {
  expect(reply.status, reply.text).toBe(expected.status);
  expect(reply.headers['content-type']).toMatch(/^application\/json(;|$)/);
  const requestId = reply.headers['x-request-id'];
  expect(requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(reply.headers['correlation-id']).toBe(requestId);
  expect(reply.text).not.toMatch(LEAKS);
  const body: unknown = JSON.parse(reply.text);
  expect(body).toEqual({ error: expect.any(Object) });
  const error = (body as { error: ErrorEnvelope }).error;
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
  if (expected.type === 'validation_error') {
    const fields = expected.errors ?? (expected.param === null ? [] : [{ param: expected.param, code: expected.code }]);
    // SPEC §5 lists every failing field but no order.
    const order = (a: { param: string; code: string }, b: { param: string; code: string }) => `${a.param} ${a.code}`.localeCompare(`${b.param} ${b.code}`);
    expect(error.errors?.map(({ param, code }) => ({ param, code })).sort(order)).toEqual([...fields].sort(order));
    for (const field of error.errors ?? []) expect(field.message.length).toBeGreaterThan(0);
  }
  return error;
}
