import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectErrorEnvelope, type HttpReply, RestClient } from '../helpers/http.ts';
import { type RestRecord, type RestSource, textRecord } from '../helpers/resources.ts';
import { boundedDriverOptions } from '../../src/database/timeouts.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';
import { sleep, waitUntil } from '../helpers/wait.ts';
import { createWebhookEndpoint, type Receiver, Receivers } from '../helpers/webhooks.ts';

// Issue 12: a write that queued webhook messages wakes this process's delivery once it has
// committed, not when its statement returns. A request whose commit comes seconds after its write
// (here: its stored response waits on a lock) is still delivered at once after the commit, not by
// the worker's idle poll a minute later; a write rolled back delivers nothing.

/** Well within the worker's 60 s idle poll, well beyond a prompt wake-up. */
const PROMPTLY_MS = 10_000;
/** Longer than any re-wake after the write's statement could cover. */
const COMMIT_DELAY_MS = 2_000;
const LOCK = [12, 3] as const;

let server: TestServer;
let databaseUrl: string;
let api: RestClient;
let token: string;
let holder: pg.Client;
const receivers = new Receivers();
let counter = 0;

beforeAll(async () => {
  // The held statement waits longer than the request path's statement timeout allows.
  const unbounded = { ...boundedDriverOptions, statement_timeout: 30_000, query_timeout: 30_000 };
  server = await startTestServer({ WEBHOOK_ALLOW_PRIVATE_URLS: 'true' }, {}, { driverOptions: unbounded });
  databaseUrl = server.orm.config.get('clientUrl') ?? '';
  token = await server.createToken('Prompt Corp');
  api = new RestClient(server.url, token);
  holder = new pg.Client({ connectionString: databaseUrl });
  await holder.connect();
});

afterEach(async () => {
  await holder.query('select pg_advisory_unlock_all()');
  await runSql(databaseUrl, 'drop trigger if exists hold_idempotency_key on idempotency_key; drop trigger if exists refuse_idempotency_key on idempotency_key');
  await receivers.clear(api);
});

afterAll(async () => {
  await holder.end();
  await server.close();
});

/** A receiver subscribed to every record and person event, with a fresh source to ingest into. */
async function hooked(): Promise<{ hooks: Receiver; source: RestSource }> {
  const hooks = await receivers.start();
  await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_record.created', 'person.upserted'] });
  counter += 1;
  return { hooks, source: await api.createSource({ name: `Prompt source ${counter}` }) };
}

/**
 * Makes an idempotent request's commit wait while the test holds a lock: its write has run, and the
 * store of its response, the last statement before COMMIT, waits for the lock.
 */
async function holdCommits(): Promise<{ waiting(): Promise<boolean> }> {
  const [a, b] = LOCK;
  await runSql(
    databaseUrl,
    `create or replace function hold_idempotency_key() returns trigger language plpgsql as $$
       begin perform pg_advisory_lock(${a}, ${b}); perform pg_advisory_unlock(${a}, ${b}); return new; end $$;
     create trigger hold_idempotency_key before insert on idempotency_key for each row execute function hold_idempotency_key();`,
  );
  await holder.query('select pg_advisory_lock($1, $2)', [a, b]);
  return {
    async waiting() {
      const [row] = await runSql<{ count: string }>(
        databaseUrl,
        `select count(*) as count from pg_locks where locktype = 'advisory' and not granted
           and database = (select oid from pg_database where datname = current_database())`,
      );
      return Number(row?.count) === 1;
    },
  };
}

/** Sends `request` while commits are held, keeps them held COMMIT_DELAY_MS after its write ran, then lets it commit. */
async function committedLate<T>(request: () => Promise<HttpReply<T>>): Promise<HttpReply<T>> {
  const commits = await holdCommits();
  const reply = request();
  await waitUntil(() => commits.waiting(), 'the write ran and its commit waits');
  await sleep(COMMIT_DELAY_MS);
  await holder.query('select pg_advisory_unlock_all()');
  return await reply;
}

describe('a write whose commit comes late', () => {
  it('is delivered promptly once a REST ingest sent with an Idempotency-Key commits', async () => {
    const { hooks, source } = await hooked();
    const reply = await committedLate(() => api.post<RestRecord>(`/feedback-sources/${source.id}/records`, textRecord('held', { external_id: 'late-rest' }), { key: randomUUID() }));
    expect(reply.status, reply.text).toBe(201);
    await waitUntil(async () => hooks.received.length === 1, 'the event arrived', PROMPTLY_MS);
    expect(hooks.received[0]?.json).toMatchObject({ type: 'feedback_record.created', data: { id: reply.body.id, external_id: 'late-rest' } });
  });

  it('is delivered promptly once a GraphQL document of two mutations sent with an Idempotency-Key commits, each write\'s events', async () => {
    const { hooks, source } = await hooked();
    const document = `mutation ($sourceId: ID!, $record: IngestRecordInput!, $person: UpsertPersonInput!) {
      ingestRecord(sourceId: $sourceId, input: $record) { __typename ... on IngestRecordSuccess { record { id } } }
      upsertPerson(input: $person) { __typename ... on UpsertPersonSuccess { person { id } } }
    }`;
    const variables = {
      sourceId: String(source.id),
      record: { externalId: 'late-graphql', fields: [{ category: 'content', type: 'string', name: 'subject', value: 'held' }] },
      person: { email: 'late@prompt.example' },
    };
    const reply = await committedLate(() => server.graphql(document, variables, token, { 'idempotency-key': randomUUID() }));
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.data).toMatchObject({ ingestRecord: { __typename: 'IngestRecordSuccess' }, upsertPerson: { __typename: 'UpsertPersonSuccess' } });
    await waitUntil(async () => hooks.received.length === 2, 'both events arrived', PROMPTLY_MS);
    expect(hooks.received.map((request) => request.json.type).sort()).toEqual(['feedback_record.created', 'person.upserted']);
  });
});

describe('a write rolled back', () => {
  it('delivers nothing: the next write\'s event is the only one to arrive', async () => {
    const { hooks, source } = await hooked();
    await runSql(
      databaseUrl,
      `create or replace function refuse_idempotency_key() returns trigger language plpgsql as $$ begin raise exception 'refused by the test'; end $$;
       create trigger refuse_idempotency_key before insert on idempotency_key for each row execute function refuse_idempotency_key();`,
    );
    const refused = await api.post(`/feedback-sources/${source.id}/records`, textRecord('rolled back', { external_id: 'rolled-back' }), { key: randomUUID() });
    expectErrorEnvelope(refused, { status: 500, type: 'server_error', code: 'INTERNAL_ERROR', param: null });
    await runSql(databaseUrl, 'drop trigger refuse_idempotency_key on idempotency_key');

    const kept = await api.ingest(source.id, textRecord('kept', { external_id: 'kept' }));
    await waitUntil(async () => hooks.received.length >= 1, 'the kept event arrived', PROMPTLY_MS);
    // Messages are delivered oldest first, so one of the rolled-back write would have come before.
    expect(hooks.received.map((request) => request.json.data.id)).toEqual([kept.id]);
    const events = await api.get<{ data: { data: { external_id: string } }[] }>(`/webhooks/${(await api.get<{ data: { id: number }[] }>('/webhooks')).body.data[0]?.id}/events`);
    expect(events.body.data.map((event) => event.data.external_id)).toEqual(['kept']);
  });
});
