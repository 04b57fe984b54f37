import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { type ErrorEnvelope, expectErrorEnvelope, expectGraphQLErrorEnvelope, type GraphQLReply, type HttpReply, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';
import { waitUntil } from '../helpers/wait.ts';

let server: TestServer;
let databaseUrl: string;
let token: string;

const CONCURRENT = 50;
const ingestMutation = `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { id } } }
}`;

type RecordResponse = HttpReply<{ id?: number; error?: ErrorEnvelope }>;
type MutationResponse = GraphQLReply<{ ingestRecord: { __typename: string; record?: { id: string } } }>;

/** SPEC §7: the answer to a key whose first request still runs. */
const IN_PROGRESS = { status: 409, type: 'conflict_error', code: 'IDEMPOTENCY_KEY_IN_PROGRESS', param: 'Idempotency-Key', retryable: true };

function recordInput(text: string) {
  return { fields: [{ category: 'content', type: 'string', name: 'text', value: text }] };
}

async function createSource(): Promise<number> {
  const response = await new RestClient(server.url, token).post<{ id: number }>('/feedback-sources', { name: `Source ${randomUUID()}` });
  expect(response.status).toBe(201);
  return response.body.id;
}

function ingestRest(sourceId: number, key: string, text = 'Concurrent'): Promise<RecordResponse> {
  return new RestClient(server.url, token).post(`/feedback-sources/${sourceId}/records`, recordInput(text), { key });
}

function ingestGraphQL(sourceId: number, key: string, text = 'Concurrent'): Promise<MutationResponse> {
  return server.graphql(ingestMutation, { sourceId: String(sourceId), input: recordInput(text) }, token, { 'idempotency-key': key });
}

function countRecords(sourceId: number): Promise<number> {
  return server.orm.em.fork().count(FeedbackRecord, { source: sourceId });
}

/** Makes every record insert take `seconds`, so the first request is still running when the next arrive. */
async function slowDownInserts(seconds = 1): Promise<void> {
  await runSql(
    databaseUrl,
    `create or replace function slow_feedback_record() returns trigger language plpgsql as $$ begin perform pg_sleep(${seconds}); return new; end $$;
     create trigger slow_feedback_record before insert on feedback_record for each row execute function slow_feedback_record();`,
  );
}

async function dropSlowDown(): Promise<void> {
  await runSql(databaseUrl, 'drop trigger if exists slow_feedback_record on feedback_record');
}

/** True while some transaction of this database holds an advisory lock: an idempotent request is running. */
async function aRequestHoldsItsKey(): Promise<boolean> {
  const rows = await runSql<{ held: boolean }>(
    databaseUrl,
    `select exists (select 1 from pg_locks where locktype = 'advisory' and granted
       and database = (select oid from pg_database where datname = current_database())) as held`,
  );
  return rows[0]?.held === true;
}

beforeAll(async () => {
  server = await startTestServer();
  databaseUrl = server.orm.config.get('clientUrl') ?? '';
  token = await server.createToken('Acme Corp');
});

afterEach(dropSlowDown);

afterAll(() => server.close());

describe(`${CONCURRENT} concurrent identical REST requests with one key`, () => {
  let sourceId: number;
  let responses: RecordResponse[];

  beforeAll(async () => {
    sourceId = await createSource();
    const key = randomUUID();
    // The server shares this process's event loop, so requests reach it a few milliseconds apart;
    // a slower insert keeps the first write open while the others arrive.
    await slowDownInserts(0.3);
    try {
      responses = await Promise.all(Array.from({ length: CONCURRENT }, () => ingestRest(sourceId, key)));
    } finally {
      await dropSlowDown();
    }
  });

  it('ingest exactly one record', async () => {
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('get one 201 that is not a replay', () => {
    const original = responses.filter((response) => response.status === 201 && response.headers.get('idempotency-replayed') === null);
    expect(original).toHaveLength(1);
  });

  it('get, every other one, the replay of that 201 or 409 IDEMPOTENCY_KEY_IN_PROGRESS (retryable), never a 500', () => {
    const [original] = responses.filter((response) => response.status === 201 && response.headers.get('idempotency-replayed') === null);
    const others = responses.filter((response) => response !== original);
    expect(others).toHaveLength(CONCURRENT - 1);
    for (const response of others) {
      if (response.status === 201) {
        expect(response.headers.get('idempotency-replayed')).toBe('true');
        expect(response.text).toBe(original?.text);
      } else {
        expectErrorEnvelope(response, IN_PROGRESS);
      }
    }
  });
});

describe(`${CONCURRENT} concurrent identical GraphQL mutations with one key`, () => {
  let sourceId: number;
  let responses: MutationResponse[];

  beforeAll(async () => {
    sourceId = await createSource();
    const key = randomUUID();
    // The server shares this process's event loop, so requests reach it a few milliseconds apart;
    // a slower insert keeps the first write open while the others arrive.
    await slowDownInserts(0.3);
    try {
      responses = await Promise.all(Array.from({ length: CONCURRENT }, () => ingestGraphQL(sourceId, key)));
    } finally {
      await dropSlowDown();
    }
  });

  it('ingest exactly one record', async () => {
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('get one IngestRecordSuccess that is not a replay', () => {
    const original = responses.filter((response) => response.status === 200 && response.headers.get('idempotency-replayed') === null);
    expect(original).toHaveLength(1);
    expect(original[0]?.body.data?.ingestRecord.__typename).toBe('IngestRecordSuccess');
  });

  it('get, every other one, the replay of that response or 409 IDEMPOTENCY_KEY_IN_PROGRESS (retryable), never a 500', () => {
    const [original] = responses.filter((response) => response.status === 200 && response.headers.get('idempotency-replayed') === null);
    const others = responses.filter((response) => response !== original);
    expect(others).toHaveLength(CONCURRENT - 1);
    for (const response of others) {
      if (response.status === 200) {
        expect(response.headers.get('idempotency-replayed')).toBe('true');
        expect(response.body).toEqual(original?.body);
      } else {
        expectGraphQLErrorEnvelope(response, IN_PROGRESS);
      }
    }
  });
});

describe('IDEMPOTENCY_KEY_IN_PROGRESS while the first request runs', () => {
  it('answers 409 IDEMPOTENCY_KEY_IN_PROGRESS (retryable) to a REST retry, echoing the key, and the first still answers 201', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await slowDownInserts();
    const first = ingestRest(sourceId, key);
    await waitUntil(aRequestHoldsItsKey, 'the first request holds its key');

    const retry = await ingestRest(sourceId, key);

    expectErrorEnvelope(retry, IN_PROGRESS);
    expect(retry.headers.get('idempotency-key')).toBe(key);
    expect(retry.headers.get('idempotency-replayed')).toBeNull();
    expect((await first).status).toBe(201);
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('replays the first REST response to a retry sent after an IN_PROGRESS answer, once the first finished', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await slowDownInserts();
    const first = ingestRest(sourceId, key);
    await waitUntil(aRequestHoldsItsKey, 'the first request holds its key');
    const inProgress = await ingestRest(sourceId, key);
    expect(inProgress.status).toBe(409);
    const original = await first;

    const retry = await ingestRest(sourceId, key);

    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotency-replayed')).toBe('true');
    expect(retry.text).toBe(original.text);
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('answers 409 IDEMPOTENCY_KEY_IN_PROGRESS (retryable) to a GraphQL retry, echoing the key, and the first still ingests', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await slowDownInserts();
    const first = ingestGraphQL(sourceId, key);
    await waitUntil(aRequestHoldsItsKey, 'the first mutation holds its key');

    const retry = await ingestGraphQL(sourceId, key);

    expect(retry.body.data ?? null).toBeNull();
    expectGraphQLErrorEnvelope(retry, IN_PROGRESS);
    expect(retry.headers.get('idempotency-key')).toBe(key);
    expect((await first).body.data?.ingestRecord.__typename).toBe('IngestRecordSuccess');
    expect(await countRecords(sourceId)).toBe(1);
  });

  it('answers 409 IDEMPOTENCY_KEY_IN_PROGRESS to the same key with another body while the first runs', async () => {
    const sourceId = await createSource();
    const key = randomUUID();
    await slowDownInserts();
    const first = ingestRest(sourceId, key, 'First body');
    await waitUntil(aRequestHoldsItsKey, 'the first request holds its key');

    const other = await ingestRest(sourceId, key, 'Other body');

    expectErrorEnvelope(other, IN_PROGRESS);
    await first;
    expect(await countRecords(sourceId)).toBe(1);
  });
});
