import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RestClient, send } from '../helpers/http.ts';
import { type RestRecord, type RestSource, textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RFC3339_UTC } from '../helpers/spec.ts';
import { waitUntil } from '../helpers/wait.ts';
import { createWebhookEndpoint, Receivers, verify, type WebhookEndpoint } from '../helpers/webhooks.ts';

// SPEC §12 and issue 12 items 2–3: events are written to the outbox with the change and delivered at
// least once to real HTTP receivers, signed the Standard Webhooks way, with every attempt recorded.
// Receivers listen on loopback, so the server allows private URLs (WEBHOOK_ALLOW_PRIVATE_URLS).

interface WebhookEvent {
  id: string;
  type: string;
  status: string;
  attempts: number;
  data: Record<string, unknown>;
  deliveries: { attempt: number; status: string; response_status: number | null; latency_ms: number; error: string | null; created_at: string }[];
}

let server: TestServer;
let api: RestClient;
const receivers = new Receivers();
let counter = 0;

beforeAll(async () => {
  server = await startTestServer({ WEBHOOK_ALLOW_PRIVATE_URLS: 'true' });
  api = new RestClient(server.url, await server.createToken('Hooked Corp'));
});

afterEach(() => receivers.clear(api));

afterAll(() => server.close());

async function newSource(client = api): Promise<RestSource> {
  counter += 1;
  return await client.createSource({ name: `Hooked source ${counter}` });
}

async function eventsOf(endpointId: number, client = api): Promise<WebhookEvent[]> {
  const reply = await client.get<{ data: WebhookEvent[] }>(`/webhooks/${endpointId}/events`, { query: { limit: 100 } });
  expect(reply.status, reply.text).toBe(200);
  return reply.body.data;
}

describe('a record ingested over REST', () => {
  it('is POSTed to the endpoint once, signed with its secret, as {id, type, timestamp, organization_id, data}', async () => {
    const hooks = await receivers.start();
    const source = await newSource();
    const endpoint = await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_record.created'] });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const record = await api.ingest(source.id, textRecord('Export to CSV times out', { external_id: 'hook-1' }));

    await waitUntil(async () => hooks.received.length === 1, 'the receiver got the event');
    const [delivery] = hooks.received;
    if (!delivery) throw new Error('no delivery');
    expect(verify(endpoint.secret, delivery)).toEqual(delivery.json);
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(delivery.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(delivery.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(delivery.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Object.keys(delivery.json).sort()).toEqual(['data', 'id', 'organization_id', 'timestamp', 'type']);
    expect(delivery.json.id).toBe(delivery.headers['webhook-id']);
    expect(delivery.json.type).toBe('feedback_record.created');
    expect(delivery.json.timestamp).toMatch(RFC3339_UTC);
    expect(Number.isInteger(delivery.json.organization_id)).toBe(true);
    // The data is the record as the REST API answers it.
    const stored = await api.get<RestRecord>(`/feedback-sources/${source.id}/records/${record.id}`);
    expect(delivery.json.data).toEqual(stored.body);

    await waitUntil(async () => (await eventsOf(endpoint.id))[0]?.status === 'delivered', 'the event is marked delivered');
    const [event] = await eventsOf(endpoint.id);
    expect(event).toMatchObject({ id: delivery.json.id, type: 'feedback_record.created', status: 'delivered', attempts: 1, data: stored.body });
    expect(event?.deliveries).toEqual([{ attempt: 1, status: 'succeeded', response_status: 200, latency_ms: expect.any(Number), error: null, created_at: expect.stringMatching(RFC3339_UTC) }]);
  });

  it('delivers one event per record of a batch, and a feedback_record.deleted when one is deleted', async () => {
    const hooks = await receivers.start();
    const source = await newSource();
    await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_record.created', 'feedback_record.deleted'] });
    const batch = await api.post<{ results: { record: RestRecord }[] }>(`/feedback-sources/${source.id}/records/batch`, {
      records: [textRecord('one'), textRecord('two'), textRecord('three')],
    });
    expect(batch.status).toBe(200);
    const ids = batch.body.results.map((result) => result.record.id);
    await waitUntil(async () => hooks.ofType('feedback_record.created').length === 3, 'three created events arrived');
    expect(hooks.ofType('feedback_record.created').map((request) => request.json.data.id).sort()).toEqual([...ids].sort());
    expect(new Set(hooks.received.map((request) => request.json.id)).size).toBe(3);

    expect((await api.delete(`/feedback-sources/${source.id}/records/${ids[0]}`)).status).toBe(200);
    await waitUntil(async () => hooks.ofType('feedback_record.deleted').length === 1, 'the deleted event arrived');
    expect(hooks.ofType('feedback_record.deleted')[0]?.json.data).toEqual({ id: ids[0], source_id: source.id });
  });

  it('is delivered when its write commits inside an idempotent request, and counted in /metrics', async () => {
    const hooks = await receivers.start();
    const source = await newSource();
    await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_record.created'] });
    const body = textRecord('sent with a key', { external_id: 'keyed-1' });
    const first = await api.post<RestRecord>(`/feedback-sources/${source.id}/records`, body, { key: 'hooked-key-1' });
    expect(first.status).toBe(201);
    await waitUntil(async () => hooks.received.length === 1, 'the event arrived');
    expect(hooks.received[0]?.json.data.id).toBe(first.body.id);
    // A replay of the request writes nothing, so it queues nothing.
    expect((await api.post(`/feedback-sources/${source.id}/records`, body, { key: 'hooked-key-1' })).headers.get('idempotency-replayed')).toBe('true');
    const metrics = await send(server.url, { path: '/metrics' });
    expect(metrics.text).toMatch(/^webhook_deliveries_total\{outcome="succeeded"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^webhook_delivery_duration_seconds_count [1-9]\d*$/m);
    await api.ingest(source.id, textRecord('after the replay'));
    await waitUntil(async () => hooks.received.length === 2, 'the next event arrived');
    expect(hooks.received[1]?.json.data.external_id).toBeNull();
  });

  it('reaches only endpoints whose source filter names its source, and only their event types', async () => {
    const wanted = await receivers.start();
    const other = await receivers.start();
    const deletesOnly = await receivers.start();
    const [first, second] = [await newSource(), await newSource()];
    await createWebhookEndpoint(api, { url: wanted.url, event_types: ['feedback_record.created'], source_ids: [first.id] });
    await createWebhookEndpoint(api, { url: other.url, event_types: ['feedback_record.created'], source_ids: [second.id] });
    await createWebhookEndpoint(api, { url: deletesOnly.url, event_types: ['feedback_record.deleted'] });
    await api.ingest(first.id, textRecord('for the first source'));
    await waitUntil(async () => wanted.received.length === 1, 'the filtered endpoint got its event');
    // A later event of the second source arrives at its own endpoint; by then the first's would have too.
    await api.ingest(second.id, textRecord('for the second source'));
    await waitUntil(async () => other.received.length === 1, 'the second endpoint got its event');
    expect(wanted.received.length).toBe(1);
    expect(other.received[0]?.json.data.source_id).toBe(second.id);
    expect(deletesOnly.received).toEqual([]);
  });
});

describe('a receiver that fails', () => {
  it('gets every event once it is back: attempts while it is down are recorded with their error and retried with backoff', async () => {
    const hooks = await receivers.start();
    const source = await newSource();
    const endpoint = await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_record.created'] });
    await hooks.stop();
    await api.ingest(source.id, textRecord('while down 1'));
    await api.ingest(source.id, textRecord('while down 2'));
    await waitUntil(async () => (await eventsOf(endpoint.id)).every((event) => event.deliveries.length >= 1), 'each event failed once', 10_000);
    const failed = await eventsOf(endpoint.id);
    for (const event of failed) {
      expect(event.status).toBe('pending');
      expect(event.deliveries[0]).toMatchObject({ attempt: 1, status: 'failed', response_status: null, error: expect.stringMatching(/ECONNREFUSED/) });
    }

    await hooks.start();
    await waitUntil(async () => (await eventsOf(endpoint.id)).every((event) => event.status === 'delivered'), 'both delivered', 15_000);
    const ids = failed.map((event) => event.id).sort();
    expect(hooks.received.map((request) => request.json.id).sort()).toEqual(ids);
    for (const event of await eventsOf(endpoint.id)) {
      expect(event.deliveries.at(-1)).toMatchObject({ status: 'succeeded', response_status: 200, error: null });
      expect(event.deliveries.map((attempt) => attempt.attempt)).toEqual(event.deliveries.map((_, index) => index + 1));
    }
    expect((await api.get<WebhookEndpoint>(`/webhooks/${endpoint.id}`)).body.consecutive_failures).toBe(0);
  });

  it('records a 5xx answer with its status and retries it with the same webhook-id', async () => {
    const hooks = await receivers.start();
    hooks.status = 503;
    const source = await newSource();
    const endpoint = await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_record.created'] });
    await api.ingest(source.id, textRecord('refused once'));
    await waitUntil(async () => hooks.received.length === 1, 'the first attempt arrived');
    hooks.status = 204;
    await waitUntil(async () => hooks.received.length === 2, 'the retry arrived', 10_000);
    expect(hooks.received[1]?.headers['webhook-id']).toBe(hooks.received[0]?.headers['webhook-id']);
    await waitUntil(async () => (await eventsOf(endpoint.id))[0]?.status === 'delivered', 'delivered');
    const [event] = await eventsOf(endpoint.id);
    expect(event?.deliveries.map(({ attempt, status, response_status }) => ({ attempt, status, response_status }))).toEqual([
      { attempt: 1, status: 'failed', response_status: 503 },
      { attempt: 2, status: 'succeeded', response_status: 204 },
    ]);
    expect(event?.deliveries[0]?.error).toContain('503');
  });

  it('is disabled after 20 failures in a row, and the organization\'s other endpoints hear webhook_endpoint.disabled', async () => {
    const failing = await receivers.start();
    failing.status = 500;
    const watcher = await receivers.start();
    const source = await newSource();
    const endpoint = await createWebhookEndpoint(api, { url: failing.url, event_types: ['feedback_record.created'] });
    await createWebhookEndpoint(api, { url: watcher.url, event_types: ['webhook_endpoint.disabled'] });
    const batch = await api.post(`/feedback-sources/${source.id}/records/batch`, { records: Array.from({ length: 20 }, (_, i) => textRecord(`failing ${i}`)) });
    expect(batch.status).toBe(200);
    await waitUntil(async () => watcher.received.length === 1, 'the disabled event arrived', 10_000);
    const disabled = (await api.get<WebhookEndpoint>(`/webhooks/${endpoint.id}`)).body;
    expect(disabled).toMatchObject({ enabled: false, consecutive_failures: 20, disabled_reason: expect.stringContaining('20 failed deliveries in a row') });
    expect(watcher.received[0]?.json.type).toBe('webhook_endpoint.disabled');
    expect(watcher.received[0]?.json.data).toMatchObject({ id: endpoint.id, url: failing.url, enabled: false });

    // Enabled again (the receiver fixed), its queued events are delivered.
    failing.status = 200;
    const enabled = await api.patch<WebhookEndpoint>(`/webhooks/${endpoint.id}`, { enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, consecutive_failures: 0, disabled_reason: null });
    await waitUntil(async () => new Set(failing.received.filter((request) => request.headers['webhook-id']).map((request) => request.json.id)).size === 20 && (await eventsOf(endpoint.id)).every((event) => event.status === 'delivered'), 'every queued event delivered', 15_000);
  });
});

describe('managing deliveries', () => {
  it('deletes an endpoint while one of its deliveries is in flight, and goes on delivering to the others', async () => {
    const held = await receivers.start();
    let release = () => {};
    held.hold = new Promise((resolve) => {
      release = resolve;
    });
    const source = await newSource();
    const doomed = await createWebhookEndpoint(api, { url: held.url, event_types: ['feedback_record.created'] });
    await api.ingest(source.id, textRecord('in flight'));
    await waitUntil(async () => held.received.length === 1, 'the delivery is held at the receiver');
    expect((await api.delete(`/webhooks/${doomed.id}`)).status).toBe(200);
    held.hold = null;
    release();
    const next = await receivers.start();
    await createWebhookEndpoint(api, { url: next.url, event_types: ['feedback_record.created'] });
    await api.ingest(source.id, textRecord('after the delete'));
    await waitUntil(async () => next.received.length === 1, 'the other endpoint got the next event');
    expect(held.received.length).toBe(1);
  });

  it('replays a delivered event with the same webhook-id', async () => {
    const hooks = await receivers.start();
    const source = await newSource();
    const endpoint = await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_record.created'] });
    await api.ingest(source.id, textRecord('replay me'));
    await waitUntil(async () => (await eventsOf(endpoint.id))[0]?.status === 'delivered', 'delivered');
    const [event] = await eventsOf(endpoint.id);
    const replayed = await api.post<WebhookEvent>(`/webhooks/${endpoint.id}/events/${event?.id}/replay`, undefined);
    expect(replayed.status, replayed.text).toBe(200);
    expect(replayed.body).toMatchObject({ id: event?.id, status: 'pending' });
    await waitUntil(async () => hooks.received.length === 2, 'the replay arrived');
    expect(hooks.received.map((request) => request.headers['webhook-id'])).toEqual([event?.id, event?.id]);
  });

  it('signs with the new secret once it is rotated', async () => {
    const hooks = await receivers.start();
    const source = await newSource();
    const endpoint = await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_record.created'] });
    const rotated = await api.post<WebhookEndpoint & { secret: string }>(`/webhooks/${endpoint.id}/rotate-secret`, undefined);
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    await api.ingest(source.id, textRecord('after rotation'));
    await waitUntil(async () => hooks.received.length === 1, 'delivered');
    const [delivery] = hooks.received;
    if (!delivery) throw new Error('no delivery');
    expect(() => verify(endpoint.secret, delivery)).toThrow();
    expect(verify(rotated.body.secret, delivery)).toEqual(delivery.json);
  });
});

describe('organizations', () => {
  it('never deliver one organization\'s events to another\'s endpoint, nor show its endpoints', async () => {
    const ours = await receivers.start();
    const theirs = await receivers.start();
    const other = api.as(await server.createToken('Other Hooked Corp'));
    const ourEndpoint = await createWebhookEndpoint(api, { url: ours.url, event_types: ['feedback_record.created'] });
    const theirEndpoint = await createWebhookEndpoint(other, { url: theirs.url, event_types: ['feedback_record.created'] });
    const theirSource = await newSource(other);
    await other.ingest(theirSource.id, textRecord('theirs'));
    await waitUntil(async () => theirs.received.length === 1, 'their endpoint got their event');
    const ourSource = await newSource();
    await api.ingest(ourSource.id, textRecord('ours'));
    await waitUntil(async () => ours.received.length === 1, 'our endpoint got our event');
    expect(theirs.received.length).toBe(1);
    expect(ours.received[0]?.json.organization_id).not.toBe(theirs.received[0]?.json.organization_id);
    expect((await api.get(`/webhooks/${theirEndpoint.id}`)).status).toBe(404);
    expect((await api.get(`/webhooks/${theirEndpoint.id}/events`)).status).toBe(404);
    expect((await api.delete(`/webhooks/${theirEndpoint.id}`)).status).toBe(404);
    expect((await other.get(`/webhooks/${ourEndpoint.id}`)).status).toBe(404);
  });
});
