import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send as sendHttp } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Every 201 names the resource it created in Location, as the OpenAPI document states; a replay of
// the same idempotent request answers the same.

let server: TestServer;
let token: string;

async function send(method: string, path: string, json: unknown, headers: Record<string, string> = {}) {
  const response = await sendHttp<{ id: number }>(server.url, { method, path, headers: { 'x-api-token': token, ...headers }, json });
  return { status: response.status, location: response.headers.get('location'), replayed: response.headers.get('idempotency-replayed'), body: response.body };
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Location Ltd');
});

afterAll(() => server.close());

describe('Location', () => {
  it('names the created feedback source on POST /v3/rest/feedback-sources', async () => {
    const created = await send('POST', '/v3/rest/feedback-sources', { name: 'Located' });
    expect(created.status).toBe(201);
    expect(created.location).toBe(`/v3/rest/feedback-sources/${created.body.id}`);
    const read = await sendHttp(server.url, { path: String(created.location), headers: { 'x-api-token': token } });
    expect(read.status).toBe(200);
  });

  it('names the created person on PUT /v3/rest/people, and is absent when the upsert updated someone', async () => {
    const created = await send('PUT', '/v3/rest/people', { email: 'located@example.com' });
    expect(created.status).toBe(201);
    expect(created.location).toBe(`/v3/rest/people/${created.body.id}`);
    const updated = await send('PUT', '/v3/rest/people', { email: 'located@example.com', first_name: 'Lou' });
    expect(updated.status).toBe(200);
    expect(updated.location).toBeNull();
  });

  it('names the ingested record under its source on POST /v3/rest/feedback-sources/{id}/records', async () => {
    const source = await send('POST', '/v3/rest/feedback-sources', { name: 'Located records' });
    const record = await send('POST', `/v3/rest/feedback-sources/${source.body.id}/records`, { fields: [{ category: 'content', type: 'string', name: 'text', value: 'Here' }] });
    expect(record.status).toBe(201);
    expect(record.location).toBe(`/v3/rest/feedback-sources/${source.body.id}/records/${record.body.id}`);
  });

  it('is sent again on a replay of the same Idempotency-Key', async () => {
    const first = await send('POST', '/v3/rest/feedback-sources', { name: 'Located once' }, { 'idempotency-key': 'located-once' });
    const replay = await send('POST', '/v3/rest/feedback-sources', { name: 'Located once' }, { 'idempotency-key': 'located-once' });
    expect(replay.status).toBe(201);
    expect(replay.replayed).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.location).toBe(`/v3/rest/feedback-sources/${first.body.id}`);
  });
});
