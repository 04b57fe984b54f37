import { RestClient } from '../helpers/http.ts';
import { type ChildExit, type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { textRecord } from '../helpers/resources.ts';
import { createDatabaseWithToken } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';
import { waitUntil } from '../helpers/wait.ts';
import { Receiver } from '../helpers/webhooks.ts';

export interface OutboxRow {
  id: string;
  status: string;
  attempts: number;
  locked_until: string | null;
}

/** What happened to deliveries in flight when a gateway process was stopped, and after the next one started. */
export interface InterruptedDelivery {
  databaseUrl: string;
  endpointId: number;
  /** How the stopped process ended. */
  exit: ChildExit;
  /** The webhook-ids the receiver held open when the process was stopped. */
  beforeStop: string[];
  /** The outbox rows as the stopped process left them. */
  leftBehind: OutboxRow[];
  /** The webhook-ids the receiver got from the next process. */
  afterRestart: string[];
  outbox(): Promise<OutboxRow[]>;
  close(): Promise<void>;
}

/**
 * Runs a gateway as a child process, ingests `records` records for an endpoint whose receiver holds
 * every delivery open, stops the process with `signal` while they are held, then starts another on
 * the same database and waits until it has delivered every event.
 */
export async function interruptDeliveries(signal: 'SIGKILL' | 'SIGTERM', records: number): Promise<InterruptedDelivery> {
  const { databaseUrl, token } = await createDatabaseWithToken(`${signal} Hooks Corp`);
  const env = { DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '0', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' };
  const receiver = new Receiver();
  let release = () => {};
  receiver.hold = new Promise((resolve) => {
    release = resolve;
  });
  await receiver.start();
  let first: ChildService | undefined;
  let second: ChildService | undefined;
  const close = async () => {
    await first?.stop();
    await second?.stop();
    await receiver.stop();
  };

  try {
    first = await startServerProcess(env);
    const api = new RestClient(first.url, token);
    const source = await api.createSource({ name: `${signal} source` });
    const endpoint = await api.post<{ id: number }>('/webhooks', { url: receiver.url, event_types: ['feedback_record.created'] });
    if (endpoint.status !== 201) throw new Error(`creating the endpoint: ${endpoint.status} ${endpoint.text}`);
    const endpointId = endpoint.body.id;
    const outbox = async () =>
      await runSql<OutboxRow>(databaseUrl, 'select "id", "status", "attempts", "locked_until" from "webhook_event" where "endpoint_id" = $1 order by "id"', [endpointId]);
    const batch = await api.post(`/feedback-sources/${source.id}/records/batch`, { records: Array.from({ length: records }, (_, i) => textRecord(`${signal} ${i}`)) });
    if (batch.status !== 200) throw new Error(`ingesting: ${batch.status} ${batch.text}`);

    // Every delivery has reached the receiver, which has not answered: the gateway stops mid-delivery.
    await waitUntil(async () => receiver.received.length === records, 'every delivery is held at the receiver', 10_000);
    const beforeStop = receiver.received.map((request) => String(request.headers['webhook-id']));
    first.child.kill(signal);
    const exit = await first.exited;
    const leftBehind = await outbox();
    receiver.hold = null;
    release();

    second = await startServerProcess(env);
    await waitUntil(async () => (await outbox()).every((event) => event.status === 'delivered'), 'every event delivered after the restart', 40_000);
    const afterRestart = receiver.received.slice(records).map((request) => String(request.headers['webhook-id']));
    return { databaseUrl, endpointId, exit, beforeStop, leftBehind, afterRestart, outbox, close };
  } catch (error) {
    await close();
    throw error;
  }
}
