import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../helpers/http.ts';
import { type RestPerson, type RestSource, textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RFC3339_UTC } from '../helpers/spec.ts';
import { waitUntil } from '../helpers/wait.ts';
import { createWebhookEndpoint, type Received, Receivers, verify } from '../helpers/webhooks.ts';

// Issue 12 item 2: besides record events, endpoints can subscribe to person.upserted and to
// feedback_source.created, .updated and .deleted. Each is written to the outbox in the transaction of
// the change and delivered with the resource as the REST API shows it. A source filter narrows record
// events only: a person or source event reaches every endpoint subscribed to its type.

let server: TestServer;
let api: RestClient;
const receivers = new Receivers();
let counter = 0;

beforeAll(async () => {
  server = await startTestServer({ WEBHOOK_ALLOW_PRIVATE_URLS: 'true' });
  api = new RestClient(server.url, await server.createToken('Resourceful Corp'));
});

afterEach(() => receivers.clear(api));

afterAll(() => server.close());

/** The types of an endpoint's queued events, oldest first: the outbox is written with the change, so this is final once the write has answered. */
async function queuedTypes(endpointId: number, client = api): Promise<string[]> {
  const reply = await client.get<{ data: { type: string }[] }>(`/webhooks/${endpointId}/events`, { query: { limit: 100 } });
  expect(reply.status, reply.text).toBe(200);
  return reply.body.data.map((event) => event.type).reverse();
}

function expectEnvelope(delivery: Received | undefined, secret: string, type: string): Received {
  if (!delivery) throw new Error(`no ${type} delivery`);
  expect(verify(secret, delivery)).toEqual(delivery.json);
  expect(Object.keys(delivery.json).sort()).toEqual(['data', 'id', 'organization_id', 'timestamp', 'type']);
  expect(delivery.json.id).toBe(delivery.headers['webhook-id']);
  expect(delivery.json.type).toBe(type);
  expect(delivery.json.timestamp).toMatch(RFC3339_UTC);
  expect(Number.isInteger(delivery.json.organization_id)).toBe(true);
  return delivery;
}

describe('person.upserted', () => {
  it('is delivered when a person is created and when updated, with the person as GET /people/{id} answers', async () => {
    const hooks = await receivers.start();
    const endpoint = await createWebhookEndpoint(api, { url: hooks.url, event_types: ['person.upserted'] });
    counter += 1;
    const created = await api.put<RestPerson>('/people', { email: `maria${counter}@northwind.example`, first_name: 'María', company: { name: 'Northwind Traders', domain: 'northwind.example' } });
    expect(created.status, created.text).toBe(201);
    await waitUntil(async () => hooks.received.length === 1, 'the created person arrived');
    const first = expectEnvelope(hooks.received[0], endpoint.secret, 'person.upserted');
    const stored = await api.get<RestPerson>(`/people/${created.body.id}`);
    expect(first.json.data).toEqual(stored.body);
    expect(first.json.data).toMatchObject({ first_name: 'María', company: { name: 'Northwind Traders', domain: 'northwind.example' } });

    const updated = await api.put<RestPerson>('/people', { email: `maria${counter}@northwind.example`, last_name: 'García', company: null });
    expect(updated.status, updated.text).toBe(200);
    await waitUntil(async () => hooks.received.length === 2, 'the updated person arrived');
    const second = expectEnvelope(hooks.received[1], endpoint.secret, 'person.upserted');
    expect(second.json.data).toEqual((await api.get<RestPerson>(`/people/${created.body.id}`)).body);
    expect(second.json.data).toMatchObject({ id: created.body.id, last_name: 'García', company_id: null, company: null });
    expect(second.json.id).not.toBe(first.json.id);
  });

  it('is queued once for an upsert sent with an Idempotency-Key, delivered once it commits; its replay queues nothing', async () => {
    const hooks = await receivers.start();
    const endpoint = await createWebhookEndpoint(api, { url: hooks.url, event_types: ['person.upserted'] });
    const body = { email: `keyed${++counter}@example.com`, first_name: 'Keyed' };
    const first = await api.put<RestPerson>('/people', body, { key: `person-key-${counter}` });
    expect(first.status, first.text).toBe(201);
    await waitUntil(async () => hooks.received.length === 1, 'the person arrived');
    expect(expectEnvelope(hooks.received[0], endpoint.secret, 'person.upserted').json.data).toEqual(first.body);
    const replay = await api.put<RestPerson>('/people', body, { key: `person-key-${counter}` });
    expect(replay.headers.get('idempotency-replayed')).toBe('true');
    expect(await queuedTypes(endpoint.id)).toEqual(['person.upserted']);
  });

  it('reaches an endpoint with a source filter (a person belongs to no source), and not one subscribed to other types', async () => {
    const filtered = await receivers.start();
    const recordsOnly = await receivers.start();
    const source = await api.createSource({ name: `Filtered source ${++counter}` });
    const withFilter = await createWebhookEndpoint(api, { url: filtered.url, event_types: ['person.upserted', 'feedback_record.created'], source_ids: [source.id] });
    const other = await createWebhookEndpoint(api, { url: recordsOnly.url, event_types: ['feedback_record.created'] });
    const person = await api.upsertPerson({ external_id: `crm-${counter}` });
    await waitUntil(async () => filtered.received.length === 1, 'the filtered endpoint got the person');
    expect(expectEnvelope(filtered.received[0], withFilter.secret, 'person.upserted').json.data).toMatchObject({ id: person.id, external_id: `crm-${counter}` });
    expect(await queuedTypes(other.id)).toEqual([]);
  });
});

describe('feedback source events', () => {
  it('delivers feedback_source.created, .updated and .deleted with the source as the REST API showed it', async () => {
    const hooks = await receivers.start();
    const endpoint = await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_source.created', 'feedback_source.updated', 'feedback_source.deleted'] });
    const created = await api.post<RestSource>('/feedback-sources', { name: `Typeform NPS ${++counter}`, type: 'surveys' });
    expect(created.status, created.text).toBe(201);
    await waitUntil(async () => hooks.received.length === 1, 'the created source arrived');
    expect(expectEnvelope(hooks.received[0], endpoint.secret, 'feedback_source.created').json.data).toEqual(created.body);

    await api.ingest(created.body.id, textRecord('counted in record_count'));
    const updated = await api.patch<RestSource>(`/feedback-sources/${created.body.id}`, { description: 'Quarterly NPS survey' });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.record_count).toBe(1);
    await waitUntil(async () => hooks.received.length === 2, 'the updated source arrived');
    expect(expectEnvelope(hooks.received[1], endpoint.secret, 'feedback_source.updated').json.data).toEqual(updated.body);

    const before = await api.get<RestSource>(`/feedback-sources/${created.body.id}`);
    expect((await api.delete(`/feedback-sources/${created.body.id}`, { query: { cascade: true } })).status).toBe(200);
    await waitUntil(async () => hooks.received.length === 3, 'the deleted source arrived');
    // Its records went first, with it.
    expect(expectEnvelope(hooks.received[2], endpoint.secret, 'feedback_source.deleted').json.data).toEqual({ ...before.body, record_count: 0 });
    expect(await queuedTypes(endpoint.id)).toEqual(['feedback_source.created', 'feedback_source.updated', 'feedback_source.deleted']);
  });

  it('queues nothing for a write that fails: a name taken, a source that still has records', async () => {
    const hooks = await receivers.start();
    const endpoint = await createWebhookEndpoint(api, { url: hooks.url, event_types: ['feedback_source.created', 'feedback_source.updated', 'feedback_source.deleted'] });
    const source = await api.createSource({ name: `Busy ${++counter}` });
    await api.ingest(source.id, textRecord('keeps the source'));
    expect((await api.post('/feedback-sources', { name: `Busy ${counter}` })).status).toBe(409);
    const other = await api.createSource({ name: `Other ${counter}` });
    expect((await api.patch(`/feedback-sources/${other.id}`, { name: `Busy ${counter}` })).status).toBe(409);
    expect((await api.delete(`/feedback-sources/${source.id}`)).status).toBe(409);
    expect(await queuedTypes(endpoint.id)).toEqual(['feedback_source.created', 'feedback_source.created']);
  });
});

describe('organizations', () => {
  it('never deliver one organization\'s person and source events to another\'s endpoint', async () => {
    const ours = await receivers.start();
    const theirs = await receivers.start();
    const other = api.as(await server.createToken('Other Resourceful Corp'));
    const types = ['person.upserted', 'feedback_source.created', 'feedback_source.updated', 'feedback_source.deleted'];
    await createWebhookEndpoint(api, { url: ours.url, event_types: types });
    const theirEndpoint = await createWebhookEndpoint(other, { url: theirs.url, event_types: types });
    try {
      const source = await api.createSource({ name: `Ours ${++counter}` });
      expect((await api.patch(`/feedback-sources/${source.id}`, { type: 'chat' })).status).toBe(200);
      expect((await api.delete(`/feedback-sources/${source.id}`)).status).toBe(200);
      await api.upsertPerson({ email: `ours${counter}@example.com` });
      await waitUntil(async () => ours.received.length === 4, 'our four events arrived');
      expect(ours.received.map((request) => request.json.type).sort()).toEqual([...types].sort());
      expect(await queuedTypes(theirEndpoint.id, other)).toEqual([]);
      expect(theirs.received).toEqual([]);
    } finally {
      expect((await other.delete(`/webhooks/${theirEndpoint.id}`)).status).toBe(200);
    }
  });
});
