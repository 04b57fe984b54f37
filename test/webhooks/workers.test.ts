import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../helpers/http.ts';
import { type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { textRecord } from '../helpers/resources.ts';
import { createDatabaseWithToken } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';
import { waitUntil } from '../helpers/wait.ts';
import { createWebhookEndpoint, Receiver } from '../helpers/webhooks.ts';

// SPEC §13: with WORKERS=2 both server processes deliver the one outbox. Records are ingested through
// the shared port (so both processes queue and wake), the receiver refuses each event's first
// attempt, and both processes then race for the retries: each event is claimed by one at a time, so
// the receiver sees every webhook-id exactly twice, a refusal and a success.

const RECORDS = 12;

let databaseUrl: string;
let gateway: ChildService | undefined;
const receiver = new Receiver();
/** How many times each webhook-id arrived. */
const arrivals = new Map<string, number>();
let endpointId = 0;

beforeAll(async () => {
  let token: string;
  ({ databaseUrl, token } = await createDatabaseWithToken('Two Workers Hooks'));
  receiver.onRequest = (request) => {
    const id = String(request.headers['webhook-id']);
    const seen = (arrivals.get(id) ?? 0) + 1;
    arrivals.set(id, seen);
    receiver.status = seen === 1 ? 503 : 200;
  };
  await receiver.start();
  gateway = await startServerProcess({ DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '0', WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WORKERS: '2' });
  const api = new RestClient(gateway.url, token);
  const source = await api.createSource({ name: 'Two workers' });
  endpointId = (await createWebhookEndpoint(api, { url: receiver.url, event_types: ['feedback_record.created'] })).id;
  for (let i = 0; i < RECORDS; i++) await api.ingest(source.id, textRecord(`two workers ${i}`));
  await waitUntil(
    async () => {
      const events = await runSql<{ status: string }>(databaseUrl, 'select "status" from "webhook_event" where "endpoint_id" = $1', [endpointId]);
      return events.length === RECORDS && events.every((event) => event.status === 'delivered');
    },
    'every event delivered',
    30_000,
  );
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await receiver.stop();
});

describe('two server processes sharing the outbox', () => {
  it('deliver every event, each attempt by one process only: a refusal then a success per webhook-id', async () => {
    expect(arrivals.size).toBe(RECORDS);
    expect([...arrivals.values()]).toEqual(Array.from({ length: RECORDS }, () => 2));
    const attempts = await runSql<{ attempts: string }>(
      databaseUrl,
      'select count(*)::text as "attempts" from "webhook_delivery" d join "webhook_event" e on e."id" = d."event_id" where e."endpoint_id" = $1',
      [endpointId],
    );
    expect(attempts[0]?.attempts).toBe(String(RECORDS * 2));
  });
});
