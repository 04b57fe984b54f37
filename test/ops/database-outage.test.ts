import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { type ErrorEnvelope, PUBLIC_URL, send as sendHttp } from '../helpers/http.ts';
import { type OutageServer, type StoppableDatabase, startOutageServer } from '../helpers/outage-database.ts';

/** SPEC §5 and the README: with PostgreSQL down, a request fails within seconds, not after a hang. */
const ANSWER_WITHIN_MS = 5_000;

let database: StoppableDatabase | undefined;
let server: OutageServer | undefined;
let base: string;
let token: string;
let sourceId: number;

interface Answer {
  status: number;
  elapsedMs: number;
  requestId: string | null;
  body: {
    [key: string]: unknown;
    error?: ErrorEnvelope;
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

/** Sends a request and times it; a request that hangs is cut after twice the allowed time. */
async function send(method: string, path: string, json?: unknown): Promise<Answer> {
  const started = performance.now();
  const reply = await sendHttp<Answer['body'] | undefined>(base, { method, path, headers: { 'x-api-token': token }, json, signal: AbortSignal.timeout(2 * ANSWER_WITHIN_MS) });
  return { status: reply.status, elapsedMs: performance.now() - started, requestId: reply.headers.get('x-request-id'), body: reply.body ?? {} };
}

const getSource = () => send('GET', `/v3/rest/feedback-sources/${sourceId}`);
const postRecord = (externalId: string) =>
  send('POST', `/v3/rest/feedback-sources/${sourceId}/records`, { external_id: externalId, fields: [{ category: 'content', type: 'string', name: 'text', value: 'Checkout page is slow' }] });
const querySource = () => send('POST', '/graphql', { query: 'query ($id: ID!) { feedbackSource(id: $id) { id name } }', variables: { id: String(sourceId) } });
const ingestMutation = (externalId: string) =>
  send('POST', '/graphql', {
    query: 'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { __typename } }',
    variables: { sourceId: String(sourceId), input: { externalId, fields: [{ category: 'content', type: 'string', name: 'text', value: 'Search ignores accents' }] } },
  });
const probe = async (path: string) => (await sendHttp(base, { path, signal: AbortSignal.timeout(2 * ANSWER_WITHIN_MS) })).status;

/** Retries `attempt` until `done` holds (the pool reconnects on its own), for at most 10 s. */
async function eventually(attempt: () => Promise<Answer>, done: (answer: Answer) => boolean): Promise<Answer> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await attempt();
    if (done(answer) || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function databaseUnavailable(requestId: string | null): ErrorEnvelope {
  return {
    type: 'server_error',
    code: 'DATABASE_UNAVAILABLE',
    message: expect.any(String),
    retryable: true,
    request_id: requestId ?? 'a request id header',
    doc_url: `${PUBLIC_URL}/docs/errors#DATABASE_UNAVAILABLE`,
    param: null,
    suggestion: expect.any(String),
  };
}

beforeAll(async () => {
  server = await startOutageServer('Outage Corp');
  ({ database, url: base, token } = server);
  const created = await send('POST', '/v3/rest/feedback-sources', { name: 'Zendesk Support Tickets', type: 'support_tickets' });
  expect(created.status).toBe(201);
  sourceId = Number(created.body.id);
});

afterAll(async () => {
  await server?.close();
});

describe('while the database is up', () => {
  it('answers GET /v3/rest/feedback-sources/{id} with 200 and the source', async () => {
    const answer = await getSource();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: sourceId, name: 'Zendesk Support Tickets' });
  });

  it('answers a GraphQL feedbackSource query with its data', async () => {
    const answer = await querySource();
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ data: { feedbackSource: { id: String(sourceId), name: 'Zendesk Support Tickets' } } });
  });

  it('answers GET /readyz with 200', async () => {
    expect(await probe('/readyz')).toBe(200);
  });
});

describe('while the database is stopped', () => {
  beforeAll(async () => {
    await database?.stop();
  });

  it('answers a REST GET with 500 server_error DATABASE_UNAVAILABLE, retryable: true, within 5 s', async () => {
    const answer = await getSource();
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: databaseUnavailable(answer.requestId) });
    expect(answer.elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it('answers a REST POST of a record with 500 server_error DATABASE_UNAVAILABLE, retryable: true, within 5 s', async () => {
    const answer = await postRecord('outage-rest-1');
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: databaseUnavailable(answer.requestId) });
    expect(answer.elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it('answers a GraphQL query with 500 and DATABASE_UNAVAILABLE, retryable: true in errors[0].extensions, within 5 s', async () => {
    const answer = await querySource();
    expect(answer.status).toBe(500);
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject(databaseUnavailable(answer.requestId));
    expect(answer.elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it('answers a GraphQL ingestRecord mutation with 500 and DATABASE_UNAVAILABLE, retryable: true in errors[0].extensions, within 5 s', async () => {
    const answer = await ingestMutation('outage-graphql-1');
    expect(answer.status).toBe(500);
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject(databaseUnavailable(answer.requestId));
    expect(answer.elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it('answers GET /readyz with 503 within 5 s', async () => {
    const started = performance.now();
    expect(await probe('/readyz')).toBe(503);
    expect(performance.now() - started).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it('answers GET /healthz with 200', async () => {
    expect(await probe('/healthz')).toBe(200);
  });
});

describe('once the database is back, in the same process', () => {
  beforeAll(async () => {
    await database?.restart();
  });

  it('answers the REST GET with 200 and the source again', async () => {
    const answer = await eventually(getSource, ({ status }) => status === 200);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: sourceId, name: 'Zendesk Support Tickets' });
  });

  it('answers the GraphQL query with its data again', async () => {
    const answer = await eventually(querySource, ({ status }) => status === 200);
    expect(answer.body).toEqual({ data: { feedbackSource: { id: String(sourceId), name: 'Zendesk Support Tickets' } } });
  });

  it('ingests a record over REST again with 201', async () => {
    const answer = await eventually(() => postRecord('after-outage-rest'), ({ status }) => status !== 500);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ source_id: sourceId, external_id: 'after-outage-rest' });
  });

  it('has stored none of the writes refused while the database was stopped', async () => {
    await eventually(getSource, ({ status }) => status === 200);
    const stored = await server?.orm.em.fork().count(FeedbackRecord, { externalId: { $in: ['outage-rest-1', 'outage-graphql-1'] } });
    expect(stored).toBe(0);
  });

  it('answers GET /readyz with 200 again', async () => {
    const answer = await eventually(async () => ({ status: await probe('/readyz'), elapsedMs: 0, requestId: null, body: {} }), ({ status }) => status === 200);
    expect(answer.status).toBe(200);
  });
});
