import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOrm } from '../../src/database/orm.ts';
import { scopes } from '../../src/organizations/scopes.ts';
import { createApiKey } from '../../src/organizations/tokens.ts';
import { RestClient } from '../helpers/http.ts';
import { type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { textRecord } from '../helpers/resources.ts';
import { createDatabase } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';
import { waitUntil } from '../helpers/wait.ts';
import { Receiver } from './receiver.ts';

// Issue 12 item 6: a gateway stopped with SIGTERM in the middle of deliveries hands them back to the
// outbox (no lease left to wait for, the cut-off attempt not counted) and the next process delivers
// them with the webhook-id they had.

const RECORDS = 3;

let databaseUrl: string;
let env: Record<string, string>;
let first: ChildService | undefined;
let second: ChildService | undefined;
const receiver = new Receiver();
/** The webhook-ids the receiver saw before the kill, and after the restart. */
let beforeKill: string[] = [];
let afterRestart: string[] = [];
let endpointId = 0;
/** The outbox rows as the stopped process left them. */
let handedBack: { status: string; attempts: number; locked_until: string | null }[] = [];

const statusOf = async () =>
  await runSql<{ id: string; status: string; attempts: number }>(databaseUrl, 'select "id", "status", "attempts" from "webhook_event" where "endpoint_id" = $1 order by "id"', [endpointId]);

beforeAll(async () => {
  databaseUrl = await createDatabase();
  env = { DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '0', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' };
  const orm = await connectOrm(databaseUrl);
  let token: string;
  try {
    token = (await createApiKey(orm.em.fork(), 'Shutdown Hooks Corp', scopes, null)).token;
  } finally {
    await orm.close();
  }
  let release = () => {};
  receiver.hold = new Promise((resolve) => {
    release = resolve;
  });
  await receiver.start();

  first = await startServerProcess(env);
  const api = new RestClient(first.url, token);
  const source = await api.createSource({ name: 'Shutdown source' });
  const endpoint = await api.post<{ id: number }>('/webhooks', { url: receiver.url, event_types: ['feedback_record.created'] });
  expect(endpoint.status, endpoint.text).toBe(201);
  endpointId = endpoint.body.id;
  const batch = await api.post(`/feedback-sources/${source.id}/records/batch`, { records: Array.from({ length: RECORDS }, (_, i) => textRecord(`shutdown ${i}`)) });
  expect(batch.status).toBe(200);

  // Every delivery has reached the receiver, which has not answered: the gateway dies mid-delivery.
  await waitUntil(async () => receiver.received.length === RECORDS, 'every delivery is held at the receiver', 10_000);
  beforeKill = receiver.received.map((request) => String(request.headers['webhook-id']));
  first.child.kill('SIGTERM');
  const exit = await first.exited;
  expect(exit.code).toBe(0);
  handedBack = await runSql<{ status: string; attempts: number; locked_until: string | null }>(databaseUrl, 'select "status", "attempts", "locked_until" from "webhook_event" where "endpoint_id" = $1', [endpointId]);
  receiver.hold = null;
  release();

  second = await startServerProcess(env);
  await waitUntil(async () => (await statusOf()).every((event) => event.status === 'delivered'), 'every event delivered after the restart', 40_000);
  afterRestart = receiver.received.slice(RECORDS).map((request) => String(request.headers['webhook-id']));
}, 90_000);

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await receiver.stop();
});

describe('a gateway stopped with SIGTERM while delivering', () => {
  it('hands every unfinished delivery back to the outbox: pending, unleased, the attempt not counted', () => {
    expect(handedBack).toEqual(Array.from({ length: RECORDS }, () => ({ status: 'pending', attempts: 0, locked_until: null })));
  });

  it('loses no event: the next process delivers every one, with the same webhook-id, as its first recorded attempt', async () => {
    expect([...afterRestart].sort()).toEqual([...beforeKill].sort());
    for (const event of await statusOf()) expect(event).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});
