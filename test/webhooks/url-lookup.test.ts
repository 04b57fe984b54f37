import { randomUUID } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { addressesOf } from '../../src/webhooks/webhook-hosts.ts';
import { type HttpReply, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';
import { waitUntil } from '../helpers/wait.ts';

// Issue 12: a webhook URL's host is looked up before the write's transaction opens. A request sent
// with an Idempotency-Key runs its operation inside a transaction opened first; the DNS answer for the
// URL it sends is awaited before that, so a slow resolver holds no transaction, lock or connection.
// The resolver is the one thing faked here: names under .lookup.test answer when the test says so.

const held = vi.hoisted((): { waiting: (() => void)[]; asked: string[] } => ({ waiting: [], asked: [] }));

vi.mock('node:dns/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:dns/promises')>();
  const lookup = async (host: string, options: { all: true; verbatim: true }): Promise<LookupAddress[]> => {
    if (!host.endsWith('.lookup.test')) return await actual.lookup(host, options);
    held.asked.push(host);
    await new Promise<void>((resolve) => held.waiting.push(resolve));
    // A public address (TEST-NET ranges would be refused as reserved).
    return [{ address: '93.184.215.14', family: 4 }];
  };
  return { ...actual, lookup, default: { ...actual, lookup } };
});

let server: TestServer;
let databaseUrl: string;
let token: string;
let api: RestClient;

beforeAll(async () => {
  server = await startTestServer();
  databaseUrl = server.orm.config.get('clientUrl') ?? '';
  token = await server.createToken('Lookup Corp');
  api = new RestClient(server.url, token);
});

beforeEach(() => {
  held.asked = [];
  held.waiting = [];
});

afterAll(() => server.close());

/** Transactions open on this database, and advisory locks held in it (an idempotent request holds one for its key). */
async function openTransactions(): Promise<{ transactions: number; locks: number }> {
  const [row] = await runSql<{ transactions: string; locks: string }>(
    databaseUrl,
    `select (select count(*) from pg_stat_activity where datname = current_database() and state like 'idle in transaction%') as transactions,
       (select count(*) from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())) as locks`,
  );
  return { transactions: Number(row?.transactions), locks: Number(row?.locks) };
}

/** Sends `request`, checks that nothing is open in the database while its `hosts` lookups wait, then lets them answer. */
async function whileLookingUp<T>(request: () => Promise<HttpReply<T>>, hosts = 1): Promise<HttpReply<T>> {
  const reply = request();
  await waitUntil(async () => held.waiting.length === hosts, 'the URLs\' hosts are being looked up');
  try {
    expect(await openTransactions()).toEqual({ transactions: 0, locks: 0 });
  } finally {
    for (const release of held.waiting) release();
  }
  return await reply;
}

describe('a webhook endpoint created with an Idempotency-Key', () => {
  it('over REST, has its URL\'s host looked up once, before the request\'s transaction opens', async () => {
    const url = 'https://rest.lookup.test/hooks';
    const reply = await whileLookingUp(() => api.post<{ url: string }>('/webhooks', { url, event_types: ['feedback_record.created'] }, { key: randomUUID() }));
    expect(reply.status, reply.text).toBe(201);
    expect(reply.body.url).toBe(url);
    expect(held.asked).toEqual(['rest.lookup.test']);
  });

  it('over GraphQL, with the URL in a variable or written inline, has each host looked up once, before the request\'s transaction opens', async () => {
    const document = `mutation ($input: WebhookEndpointInput!) {
      fromVariable: createWebhookEndpoint(input: $input) { __typename ... on CreateWebhookEndpointSuccess { webhookEndpoint { url } } }
      inline: createWebhookEndpoint(input: { url: "https://inline.lookup.test/hooks", eventTypes: ["person.upserted"] }) { __typename }
    }`;
    const input = { url: 'https://variable.lookup.test/hooks', eventTypes: ['feedback_record.created'] };
    const reply = await whileLookingUp(() => server.graphql(document, { input }, token, { 'idempotency-key': randomUUID() }), 2);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.data).toEqual({
      fromVariable: { __typename: 'CreateWebhookEndpointSuccess', webhookEndpoint: { url: input.url } },
      inline: { __typename: 'CreateWebhookEndpointSuccess' },
    });
    expect([...held.asked].sort()).toEqual(['inline.lookup.test', 'variable.lookup.test']);
  });
});

describe('a webhook endpoint updated with an Idempotency-Key', () => {
  it('has its new URL\'s host looked up once, before the request\'s transaction opens', async () => {
    const created = await api.post<{ id: number }>('/webhooks', { url: 'https://93.184.215.14/hooks', event_types: ['feedback_record.created'] });
    expect(created.status, created.text).toBe(201);
    const url = 'https://update.lookup.test/hooks';
    const reply = await whileLookingUp(() => api.patch<{ url: string }>(`/webhooks/${created.body.id}`, { url }, { key: randomUUID() }));
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.url).toBe(url);
    expect(held.asked).toEqual(['update.lookup.test']);
  });
});

describe('a host lookup', () => {
  it('counts a host that does not answer within its time as not resolving', async () => {
    const addresses = addressesOf('silent.lookup.test', 1);
    await expect(addresses).resolves.toBeNull();
    expect(held.asked).toEqual(['silent.lookup.test']);
    for (const release of held.waiting) release();
  });

  it('answers the addresses of a host that answers within its time', async () => {
    const addresses = addressesOf('prompt.lookup.test', 60_000);
    await waitUntil(async () => held.waiting.length === 1, 'the host is being looked up');
    for (const release of held.waiting) release();
    expect(await addresses).toEqual(['93.184.215.14']);
  });
});
