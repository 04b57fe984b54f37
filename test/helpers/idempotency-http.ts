import http from 'node:http';
import pg from 'pg';

/** The object under `error` in a REST error response, and in a GraphQL error's `extensions` (SPEC §5). */
export interface ErrorObject {
  type: string;
  code: string;
  message: string;
  retryable: boolean;
  request_id: string;
  doc_url: string;
  param: string | null;
  suggestion: string;
  retry_after_seconds?: number;
}

export interface RestResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  /** The raw response text, to compare a replay byte for byte. */
  text: string;
  body: T;
}

export interface RestOptions {
  token?: string | null;
  key?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Sends a REST request over real HTTP with an optional token, Idempotency-Key and JSON body. */
export async function rest<T = Record<string, unknown>>(base: string, method: string, path: string, options: RestOptions = {}): Promise<RestResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['x-api-token'] = options.token;
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}/v3/rest${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text === '' ? {} : JSON.parse(text) };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * A request through node:http, which sends header values fetch refuses (an empty value, Latin-1
 * characters such as "é") exactly as given.
 */
export function rawRequest(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<RawResponse> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text === '' ? {} : JSON.parse(text) }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** Runs SQL on a test database through its own connection, e.g. to create or drop a trigger. */
export async function runSql<Row extends pg.QueryResultRow = pg.QueryResultRow>(databaseUrl: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every 10 ms until it returns true, or fails after `timeoutMs`. */
export async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}
