import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requestHash, runIdempotent } from '../../src/idempotency/idempotency.ts';
import { hashToken } from '../../src/organizations/tokens.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { expectErrorEnvelope, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type HeldInserts, holdRecordInserts, keyOf, runSql } from '../helpers/sql.ts';
import { waitUntil } from '../helpers/wait.ts';

// The key's lock and its stored-response lookup share one statement, whose snapshot is taken before
// the lock is granted: a first request committing in that instant leaves the lookup blind to its
// response. The response's INSERT is then the arbiter. These tests pause a request inside its write,
// after its lookup and before its store, commit a live response for its key meanwhile (as that first
// request would have), and check that the request answers from it and keeps nothing of its own write.

let server: TestServer;
let databaseUrl: string;
let token: string;
let organizationId: number;
/** Record inserts wait inside their transaction while the test holds this. */
let inserts: HeldInserts;

const ingestMutation = `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { id } } }
}`;

function recordInput(text: string) {
  return { fields: [{ category: 'content', type: 'string', name: 'text', value: text }] };
}

async function createSource(): Promise<number> {
  const response = await new RestClient(server.url, token).post<{ id: number }>('/feedback-sources', { name: `Source ${randomUUID()}` });
  expect(response.status).toBe(201);
  return response.body.id;
}

function countRecords(sourceId: number): Promise<number> {
  return server.orm.em.fork().count(FeedbackRecord, { source: sourceId });
}

/** True once a request waits on the test's lock: it is inside its write, past its lookup. */
const aWriteIsPaused = async () => (await inserts.waiting()) > 0;

/** Commits a live stored response for the key, as a request that held the key first would have. */
async function commitStoredResponse(key: string, stored: { path: string; hash: string; status: number; contentType: string; body: string }): Promise<void> {
  await runSql(
    databaseUrl,
    `insert into "idempotency_key" ("organization_id", "key", "method", "path", "request_hash", "status", "content_type", "response_body", "created_at", "expires_at")
     values ($1, $2, 'POST', $3, $4, $5, $6, $7, now(), now() + interval '1 hour')`,
    [organizationId, key, stored.path, stored.hash, stored.status, stored.contentType, stored.body],
  );
}

beforeAll(async () => {
  server = await startTestServer();
  databaseUrl = server.orm.config.get('clientUrl') ?? '';
  token = await server.createToken('Acme Corp');
  organizationId = Number((await keyOf(server.orm, hashToken(token))).organizationId);
  inserts = await holdRecordInserts(databaseUrl, [7, 7]);
});

afterEach(() => inserts.release());

afterAll(async () => {
  await inserts.close();
  await server.close();
});

describe('a live response committed for the key after the lookup and before the store', () => {
  it('answers a REST ingest with that response, marked replayed, and rolls its own record back', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const body = recordInput('Raced');
    const path = `/v3/rest/feedback-sources/${sourceId}/records`;
    const planted = '{"id":424242,"planted":true}';
    await inserts.hold();
    const pending = new RestClient(server.url, token).post(`/feedback-sources/${sourceId}/records`, body, { key });
    await waitUntil(aWriteIsPaused, 'the request is inside its write');

    await commitStoredResponse(key, { path, hash: requestHash('', body, JSON.stringify(body)), status: 201, contentType: 'application/json; charset=utf-8', body: planted });
    await inserts.release();
    const response = await pending;

    expect(response.status).toBe(201);
    expect(response.headers.get('idempotency-replayed')).toBe('true');
    expect(response.headers.get('idempotency-key')).toBe(key);
    expect(response.text).toBe(planted);
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers a REST ingest 409 IDEMPOTENCY_KEY_MISMATCH when that response was for another body, and rolls its record back', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const other = recordInput('The first body');
    await inserts.hold();
    const pending = new RestClient(server.url, token).post(`/feedback-sources/${sourceId}/records`, recordInput('Another body'), { key });
    await waitUntil(aWriteIsPaused, 'the request is inside its write');

    await commitStoredResponse(key, {
      path: `/v3/rest/feedback-sources/${sourceId}/records`,
      hash: requestHash('', other, JSON.stringify(other)),
      status: 201,
      contentType: 'application/json; charset=utf-8',
      body: '{"id":424243}',
    });
    await inserts.release();
    const response = await pending;

    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_MISMATCH', param: 'Idempotency-Key' });
    expect(response.headers.get('idempotency-replayed')).toBeNull();
    expect(await countRecords(sourceId)).toBe(0);
  });

  it('answers a GraphQL ingestRecord with that response, marked replayed, and rolls its own record back', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const sent = { query: ingestMutation, variables: { sourceId: String(sourceId), input: recordInput('Raced') } };
    const planted = '{"data":{"ingestRecord":{"__typename":"IngestRecordSuccess","record":{"id":"424244"}}}}';
    await inserts.hold();
    const pending = server.graphql<{ ingestRecord: { __typename: string; record?: { id: string } } }>(sent.query, sent.variables, token, { 'idempotency-key': key });
    await waitUntil(aWriteIsPaused, 'the mutation is inside its write');

    await commitStoredResponse(key, { path: '/graphql', hash: requestHash('', sent, JSON.stringify(sent)), status: 200, contentType: 'application/graphql-response+json; charset=utf-8', body: planted });
    await inserts.release();
    const response = await pending;

    expect(response.status).toBe(200);
    expect(response.headers.get('idempotency-replayed')).toBe('true');
    expect(response.text).toBe(planted);
    expect(await countRecords(sourceId)).toBe(0);
  });
});

describe('a write whose response is not to be stored', () => {
  it('is rolled back, and its key stays free', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    const request = { organizationId, key, method: 'POST', path: '/graphql', hash: 'unstored', ttlSeconds: 60 };
    const outcome = await runIdempotent(server.orm, request, async (em) => {
      await em.getConnection().execute(
        `insert into "feedback_record" ("organization_id", "source_id", "display_ts", "fields", "created_at") values (?, ?, now(), '[]', now())`,
        [organizationId, sourceId],
        'run',
        em.getTransactionContext(),
      );
      return { status: 200, contentType: 'application/json', body: '{"data":null}', store: false };
    });

    expect(outcome).toEqual({ response: { status: 200, contentType: 'application/json', body: '{"data":null}' }, replayed: false, committed: [] });
    expect(await countRecords(sourceId)).toBe(0);
    expect(await runSql(databaseUrl, 'select 1 from "idempotency_key" where "key" = $1', [key])).toEqual([]);
  });
});
