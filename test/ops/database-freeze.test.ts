import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorEnvelope, PUBLIC_URL, RestClient, send as sendHttp } from '../helpers/http.ts';
import { type StoppableDatabase, startStoppableDatabase } from '../helpers/outage-database.ts';
import { type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { runSql } from '../helpers/sql.ts';
import { sleep } from '../helpers/wait.ts';

/**
 * SPEC §5: a database that stops answering is an outage, not a hang. PostgreSQL is frozen (SIGSTOP,
 * so it still accepts TCP connections but answers nothing) under a mixed load of REST and GraphQL
 * reads and writes, then thawed, while the gateway runs as its own process.
 */
const ANSWER_WITHIN_MS = 5_000;
/** /readyz says "not ready" faster than requests fail, so a load balancer stops sending first. */
const READYZ_WITHIN_MS = 2_000;
const LOAD_BEFORE_FREEZE_MS = 1_500;
const FREEZE_MS = 8_000;
const LOAD_AFTER_THAW_MS = 3_000;
/** A client that answers "serves again" is one whose request sent this long after SIGCONT succeeds. */
const SERVES_AGAIN_AFTER_MS = 1_000;
/** How long after the thaw a client still retries a keyed write that was not acknowledged. */
const KEYED_RETRIES_FOR_MS = 10_000;
const CLIENTS_PER_KIND = 2;

type Kind =
  | 'REST GET source'
  | 'REST POST record'
  | 'REST POST record with key'
  | 'GraphQL query'
  | 'GraphQL mutation'
  | 'GraphQL mutation with key'
  | 'GraphQL three mutations'
  | 'readyz';

interface GraphQLBody {
  data?: Record<string, { __typename?: string; id?: string } | null> | null;
  errors?: { message: string; extensions?: Partial<ErrorEnvelope> & { http?: unknown } }[];
}

interface Exchange {
  kind: Kind;
  /** Milliseconds since the load started. */
  sentAt: number;
  elapsedMs: number;
  /** 0 when no answer came (connection error, or cut off after three times the allowed time). */
  status: number;
  requestId: string | null;
  body: Record<string, unknown> & GraphQLBody & { error?: ErrorEnvelope };
  /** The external_ids of the records the request asked to ingest, in order. */
  externalIds: string[];
}

let database: StoppableDatabase | undefined;
let server: ChildService | undefined;
let base: string;
let token: string;
let sourceId: number;

const exchanges: Exchange[] = [];
const keyedWrites: { kind: Kind; key: string; externalId: string; acknowledged: boolean }[] = [];
let afterThaw: { get: Exchange; post: Exchange; query: Exchange } | undefined;
let freezeAt = 0;
let thawAt = 0;
let started = 0;
const sinceStart = () => performance.now() - started;

function fields(externalId: string) {
  return [{ category: 'content', type: 'string', name: 'text', value: `Feedback ${externalId}` }];
}

async function send(kind: Kind, method: string, path: string, options: { body?: unknown; key?: string; externalIds?: string[] } = {}): Promise<Exchange> {
  const sentAt = sinceStart();
  const headers: Record<string, string> = { 'x-api-token': token };
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  let status = 0;
  let requestId: string | null = null;
  let body: Exchange['body'] = {};
  try {
    const reply = await sendHttp<Exchange['body'] | undefined>(base, { method, path, headers, json: options.body, signal: AbortSignal.timeout(3 * ANSWER_WITHIN_MS) });
    status = reply.status;
    requestId = reply.headers.get('x-request-id');
    body = reply.body ?? {};
  } catch {
    // No answer: recorded with status 0.
  }
  const exchange = { kind, sentAt, elapsedMs: sinceStart() - sentAt, status, requestId, body, externalIds: options.externalIds ?? [] };
  exchanges.push(exchange);
  return exchange;
}

const getSource = () => send('REST GET source', 'GET', `/v3/rest/feedback-sources/${sourceId}`);
const postRecord = (externalId: string, kind: Kind = 'REST POST record', key?: string) =>
  send(kind, 'POST', `/v3/rest/feedback-sources/${sourceId}/records`, { body: { external_id: externalId, fields: fields(externalId) }, key, externalIds: [externalId] });
const querySource = () => send('GraphQL query', 'POST', '/graphql', { body: { query: 'query ($id: ID!) { feedbackSource(id: $id) { id name } }', variables: { id: String(sourceId) } } });
const ingestMutation = (externalId: string, kind: Kind = 'GraphQL mutation', key?: string) =>
  send(kind, 'POST', '/graphql', {
    body: {
      query: 'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { __typename } }',
      variables: { sourceId: String(sourceId), input: { externalId, fields: fields(externalId) } },
    },
    key,
    externalIds: [externalId],
  });
/** Mutations run one after another: once one fails, the rest must not each wait for the database again. */
const threeMutations = (prefix: string) => {
  const externalIds = ['a', 'b', 'c'].map((alias) => `${prefix}-${alias}`);
  const input = (externalId: string) => ({ externalId, fields: fields(externalId) });
  return send('GraphQL three mutations', 'POST', '/graphql', {
    body: {
      query: `mutation ($sourceId: ID!, $a: IngestRecordInput!, $b: IngestRecordInput!, $c: IngestRecordInput!) {
        a: ingestRecord(sourceId: $sourceId, input: $a) { __typename }
        b: ingestRecord(sourceId: $sourceId, input: $b) { __typename }
        c: ingestRecord(sourceId: $sourceId, input: $c) { __typename }
      }`,
      variables: { sourceId: String(sourceId), a: input(externalIds[0] ?? ''), b: input(externalIds[1] ?? ''), c: input(externalIds[2] ?? '') },
    },
    externalIds,
  });
};

/** The errors an answer carries: REST's `error`, or each GraphQL error's extensions. */
function errorsOf(exchange: Exchange): Partial<ErrorEnvelope>[] {
  if (exchange.body.error) return [exchange.body.error];
  return (exchange.body.errors ?? []).map((error) => error.extensions ?? { message: error.message });
}

/** The external_ids the answer says were stored. */
function acknowledged(exchange: Exchange): string[] {
  if (exchange.kind.startsWith('REST POST')) return exchange.status === 201 ? exchange.externalIds : [];
  if (exchange.status !== 200 || !exchange.body.data) return [];
  const results = Object.values(exchange.body.data);
  return exchange.externalIds.filter((_, index) => results[index]?.__typename === 'IngestRecordSuccess');
}

/** The README's rule: retry on no answer and on errors that say "retryable": true. */
function worthRetrying(exchange: Exchange): boolean {
  return exchange.status === 0 || (exchange.status >= 400 && errorsOf(exchange).some((error) => error.retryable === true));
}

function describeExchange(exchange: Exchange): string {
  return `${exchange.kind} sent at ${Math.round(exchange.sentAt)} ms (freeze ${Math.round(freezeAt)}–${Math.round(thawAt)} ms): ${exchange.status} after ${Math.round(exchange.elapsedMs)} ms, ${JSON.stringify(exchange.body).slice(0, 300)}`;
}

beforeAll(async () => {
  database = await startStoppableDatabase('Freeze Corp');
  token = database.token;
  server = await startServerProcess({ DATABASE_URL: database.url, PUBLIC_URL, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'error' });
  base = server.url;
  sourceId = (await new RestClient(base, token).createSource({ name: 'Zendesk Support Tickets', type: 'support_tickets' })).id;

  let loadStopped = false;
  const loop = async (request: (round: number) => Promise<unknown>) => {
    for (let round = 0; !loadStopped; round++) {
      await request(round);
      await sleep(20);
    }
  };
  const keyedWriter = async (kind: Kind, write: (externalId: string, key: string) => Promise<Exchange>) => {
    while (!loadStopped) {
      const keyed = { kind, key: randomUUID(), externalId: `${kind === 'GraphQL mutation with key' ? 'graphql' : 'rest'}-keyed-${randomUUID()}`, acknowledged: false };
      keyedWrites.push(keyed);
      // The same key and body until an answer that is not worth retrying.
      for (;;) {
        const exchange = await write(keyed.externalId, keyed.key);
        keyed.acknowledged = acknowledged(exchange).length > 0;
        if (!worthRetrying(exchange) || (loadStopped && sinceStart() > thawAt + KEYED_RETRIES_FOR_MS)) break;
        await sleep(100);
      }
    }
  };
  const clients = (count: number, client: (index: number) => Promise<unknown>) => Array.from({ length: count }, (_, index) => client(index));

  started = performance.now();
  const load = [
    ...clients(CLIENTS_PER_KIND, () => loop(getSource)),
    ...clients(CLIENTS_PER_KIND, () => loop(querySource)),
    ...clients(CLIENTS_PER_KIND, (client) => loop((round) => postRecord(`rest-${client}-${round}`))),
    ...clients(CLIENTS_PER_KIND, (client) => loop((round) => ingestMutation(`graphql-${client}-${round}`))),
    ...clients(CLIENTS_PER_KIND, () => keyedWriter('REST POST record with key', (externalId, key) => postRecord(externalId, 'REST POST record with key', key))),
    ...clients(CLIENTS_PER_KIND, () => keyedWriter('GraphQL mutation with key', (externalId, key) => ingestMutation(externalId, 'GraphQL mutation with key', key))),
    (async () => {
      while (!loadStopped) {
        await send('readyz', 'GET', '/readyz');
        await sleep(250);
      }
    })(),
  ];
  try {
    await sleep(LOAD_BEFORE_FREEZE_MS);
    await database.freeze();
    freezeAt = sinceStart();
    // One document as the freeze begins (pooled connections stop answering), one later (new ones cannot
    // connect). Both are sent once PostgreSQL is stopped: one sent before could be answered in full first.
    const documents = [threeMutations('three-early'), sleep(FREEZE_MS / 2).then(() => threeMutations('three-late'))];
    await sleep(FREEZE_MS);
    await Promise.all(documents);
  } finally {
    thawAt = sinceStart();
    await database.thaw();
  }
  try {
    await sleep(SERVES_AGAIN_AFTER_MS);
    const [get, post, query] = await Promise.all([getSource(), postRecord('after-thaw'), querySource()]);
    afterThaw = { get, post, query };
    await sleep(LOAD_AFTER_THAW_MS - SERVES_AGAIN_AFTER_MS);
  } finally {
    loadStopped = true;
    await Promise.all(load);
  }
}, 90_000);

afterAll(async () => {
  // Each step runs even when an earlier one fails, so no frozen or running PostgreSQL outlives the file.
  const steps = [() => database?.thaw(), () => server?.stop(), () => database?.destroy()];
  const failures: unknown[] = [];
  for (const step of steps) await Promise.resolve(step()).catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw failures[0];
});

describe('PostgreSQL frozen for 8 s under a mixed REST and GraphQL load', () => {
  it('answers every request within 5 s, before, during and after the freeze', () => {
    const late = exchanges.filter((exchange) => exchange.status === 0 || exchange.elapsedMs >= ANSWER_WITHIN_MS);
    expect(late.map(describeExchange)).toEqual([]);
  });

  it('answers requests sent while frozen with 500 server_error DATABASE_UNAVAILABLE, retryable: true, over REST and GraphQL', () => {
    const during = exchanges.filter((exchange) => exchange.sentAt >= freezeAt && exchange.sentAt + ANSWER_WITHIN_MS < thawAt && exchange.kind !== 'readyz');
    for (const kind of ['REST GET source', 'REST POST record', 'REST POST record with key', 'GraphQL query', 'GraphQL mutation', 'GraphQL mutation with key'] satisfies Kind[]) {
      const answers = during.filter((exchange) => exchange.kind === kind);
      expect(answers.length, kind).toBeGreaterThan(0);
      for (const answer of answers) {
        expect(answer.status, describeExchange(answer)).toBe(500);
        const expected = {
          type: 'server_error',
          code: 'DATABASE_UNAVAILABLE',
          message: expect.any(String),
          retryable: true,
          request_id: answer.requestId ?? 'a request id header',
          doc_url: `${PUBLIC_URL}/docs/errors#DATABASE_UNAVAILABLE`,
          param: null,
          suggestion: expect.any(String),
        };
        if (kind.startsWith('REST')) expect(answer.body).toEqual({ error: expected });
        else {
          // No field answers: a query's nullable field is null beside its error (its cached token needed
          // no statement), a failed mutation's non-null field nulls the whole data.
          expect(Object.values(answer.body.data ?? {}).filter((value) => value !== null), describeExchange(answer)).toEqual([]);
          expect(answer.body.errors?.map((error) => error.extensions)).toEqual([expected]);
        }
      }
    }
  });

  it('never answers INTERNAL_ERROR: every error is DATABASE_UNAVAILABLE (500, retryable) or IDEMPOTENCY_KEY_IN_PROGRESS (409, retryable)', () => {
    const allowed = (exchange: Exchange, error: Partial<ErrorEnvelope>) =>
      (error.code === 'DATABASE_UNAVAILABLE' && error.type === 'server_error' && error.retryable === true && exchange.status === 500) ||
      (error.code === 'IDEMPOTENCY_KEY_IN_PROGRESS' && error.type === 'conflict_error' && error.retryable === true && exchange.status === 409);
    const refused = exchanges.filter((exchange) => exchange.kind !== 'readyz' && errorsOf(exchange).some((error) => !allowed(exchange, error)));
    expect(refused.map(describeExchange)).toEqual([]);
    const failedWithoutError = exchanges.filter((exchange) => exchange.kind !== 'readyz' && exchange.status >= 400 && errorsOf(exchange).length === 0);
    expect(failedWithoutError.map(describeExchange)).toEqual([]);
  });

  it('answers a document of three mutations sent while frozen within 5 s, with one DATABASE_UNAVAILABLE', () => {
    const documents = exchanges.filter((exchange) => exchange.kind === 'GraphQL three mutations');
    expect(documents).toHaveLength(2);
    for (const document of documents) {
      expect(document.elapsedMs, describeExchange(document)).toBeLessThan(ANSWER_WITHIN_MS);
      expect(document.status, describeExchange(document)).toBe(500);
      expect(errorsOf(document).map((error) => error.code)).toEqual(['DATABASE_UNAVAILABLE']);
    }
  });

  it('answers GET /readyz with 503 within 2 s while frozen, and with 200 again after', () => {
    const probes = exchanges.filter((exchange) => exchange.kind === 'readyz');
    const frozen = probes.filter((probe) => probe.sentAt >= freezeAt && probe.sentAt + READYZ_WITHIN_MS < thawAt);
    expect(frozen.length).toBeGreaterThanOrEqual(2);
    for (const probe of frozen) {
      expect(probe.status, describeExchange(probe)).toBe(503);
      expect(probe.body).toEqual({ status: 'unavailable', reason: expect.any(String) });
      expect(probe.elapsedMs, describeExchange(probe)).toBeLessThan(READYZ_WITHIN_MS);
    }
    const last = probes.at(-1);
    expect(last && last.sentAt > thawAt + SERVES_AGAIN_AFTER_MS).toBe(true);
    expect(last?.status).toBe(200);
  });

  it('serves a REST GET, a REST write and a GraphQL query sent 1 s after SIGCONT, in the same process', () => {
    expect(afterThaw?.get.status, afterThaw && describeExchange(afterThaw.get)).toBe(200);
    expect(afterThaw?.get.body).toMatchObject({ id: sourceId, name: 'Zendesk Support Tickets' });
    expect(afterThaw?.post.status, afterThaw && describeExchange(afterThaw.post)).toBe(201);
    expect(afterThaw?.post.body).toMatchObject({ source_id: sourceId, external_id: 'after-thaw' });
    expect(afterThaw?.query.body).toEqual({ data: { feedbackSource: { id: String(sourceId), name: 'Zendesk Support Tickets' } } });
    expect(server?.child.exitCode).toBeNull();
  });

  it('has stored every write it acknowledged', async () => {
    const stored = new Set((await runSql<{ external_id: string }>(database?.url ?? '', 'select "external_id" from "feedback_record" where "source_id" = $1', [sourceId])).map((row) => row.external_id));
    const acknowledgedIds = exchanges.flatMap(acknowledged);
    expect(acknowledgedIds.length).toBeGreaterThan(0);
    expect(acknowledgedIds.filter((externalId) => !stored.has(externalId))).toEqual([]);
  });

  it('acknowledges, once retried with its Idempotency-Key, every keyed write, and stores each exactly once', async () => {
    const rows = await runSql<{ external_id: string; count: string }>(
      database?.url ?? '',
      'select "external_id", count(*) as "count" from "feedback_record" where "source_id" = $1 group by "external_id"',
      [sourceId],
    );
    const counts = new Map(rows.map((row) => [row.external_id, Number(row.count)]));
    expect(keyedWrites.length).toBeGreaterThan(CLIENTS_PER_KIND * 2);
    expect(keyedWrites.filter((write) => !write.acknowledged)).toEqual([]);
    expect(keyedWrites.filter((write) => counts.get(write.externalId) !== 1)).toEqual([]);
  });
});

describe('a statement running over 2 s on a database that answers', () => {
  beforeAll(async () => {
    await runSql(
      database?.url ?? '',
      `create function slow_feedback_record() returns trigger language plpgsql as $$ begin perform pg_sleep(10); return new; end $$;
       create trigger slow_feedback_record before insert on feedback_record for each row execute function slow_feedback_record();`,
    );
  });

  afterAll(async () => {
    await runSql(database?.url ?? '', 'drop trigger if exists slow_feedback_record on feedback_record');
  });

  it('is cancelled: a REST record POST answers 500 DATABASE_UNAVAILABLE, retryable: true, within 5 s, and stores nothing', async () => {
    const answer = await postRecord('slow-rest');
    expect(answer.status, describeExchange(answer)).toBe(500);
    expect(answer.body.error).toMatchObject({ type: 'server_error', code: 'DATABASE_UNAVAILABLE', retryable: true, request_id: answer.requestId });
    expect(answer.elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
    expect(await runSql(database?.url ?? '', 'select 1 from "feedback_record" where "external_id" = $1', ['slow-rest'])).toEqual([]);
  });

  it('stops a document of three mutations at the first, which answers DATABASE_UNAVAILABLE, within 5 s', async () => {
    const answer = await threeMutations('slow-three');
    expect(answer.elapsedMs, describeExchange(answer)).toBeLessThan(ANSWER_WITHIN_MS);
    expect(answer.status, describeExchange(answer)).toBe(500);
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors).toEqual([{ message: expect.any(String), path: ['a'], locations: expect.any(Array), extensions: expect.objectContaining({ code: 'DATABASE_UNAVAILABLE', retryable: true }) }]);
    expect(await runSql(database?.url ?? '', 'select 1 from "feedback_record" where "external_id" like $1', ['slow-three-%'])).toEqual([]);
  });
});
