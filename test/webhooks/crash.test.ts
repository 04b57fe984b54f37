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

// Issue 12 item 3: a SIGKILL of the gateway in the middle of deliveries loses no event. The gateway
// runs as a child process; the receiver holds the deliveries open while the process is killed, and
// the next process delivers every one of them again, each with the webhook-id it had.

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

const statusOf = async () =>
  await runSql<{ id: string; status: string; attempts: number }>(databaseUrl, 'select "id", "status", "attempts" from "webhook_event" where "endpoint_id" = $1 order by "id"', [endpointId]);

beforeAll(async () => {
  databaseUrl = await createDatabase();
  env = { DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '0', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' };
  const orm = await connectOrm(databaseUrl);
  let token: string;
  try {
    token = (await createApiKey(orm.em.fork(), 'Crash Hooks Corp', scopes, null)).token;
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
  const source = await api.createSource({ name: 'Crash source' });
  const endpoint = await api.post<{ id: number }>('/webhooks', { url: receiver.url, event_types: ['feedback_record.created'] });
  expect(endpoint.status, endpoint.text).toBe(201);
  endpointId = endpoint.body.id;
  const batch = await api.post(`/feedback-sources/${source.id}/records/batch`, { records: Array.from({ length: RECORDS }, (_, i) => textRecord(`crash ${i}`)) });
  expect(batch.status).toBe(200);

  // Every delivery has reached the receiver, which has not answered: the gateway dies mid-delivery.
  await waitUntil(async () => receiver.received.length === RECORDS, 'every delivery is held at the receiver', 10_000);
  beforeKill = receiver.received.map((request) => String(request.headers['webhook-id']));
  first.child.kill('SIGKILL');
  await first.exited;
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

describe('a gateway killed with SIGKILL while delivering', () => {
  it('had written one event per record, each reaching the receiver once before the kill', async () => {
    expect(beforeKill.length).toBe(RECORDS);
    expect(new Set(beforeKill).size).toBe(RECORDS);
    expect((await statusOf()).map((event) => event.id).sort()).toEqual([...beforeKill].sort());
  });

  it('loses no event: the next process delivers every one again, with the same webhook-id', () => {
    expect([...afterRestart].sort()).toEqual([...beforeKill].sort());
  });

  it('records the delivery that succeeded; the attempt cut off by the kill counts, unrecorded', async () => {
    for (const event of await statusOf()) expect(event).toMatchObject({ status: 'delivered', attempts: 2 });
    const attempts = await runSql<{ event_id: string; attempt: number; status: string }>(
      databaseUrl,
      'select d."event_id", d."attempt", d."status" from "webhook_delivery" d join "webhook_event" e on e."id" = d."event_id" where e."endpoint_id" = $1 order by d."event_id"',
      [endpointId],
    );
    expect(attempts.map(({ attempt, status }) => ({ attempt, status }))).toEqual(Array.from({ length: RECORDS }, () => ({ attempt: 2, status: 'succeeded' })));
  });
});
