import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorEnvelope, expectErrorEnvelope, graphqlNamesIn, RestClient } from '../helpers/http.ts';
import { textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// expectErrorEnvelope checks REST names in every REST error; these tests say so where it is the point.
function expectRestNames(error: ErrorEnvelope): void {
  expect(graphqlNamesIn(error)).toEqual([]);
}

let server: TestServer;
let api: RestClient;
let sourceId: number;

beforeAll(async () => {
  server = await startTestServer();
  api = new RestClient(server.url, await server.createToken('Names Corp'));
  sourceId = (await api.createSource({ name: 'Names' })).id;
});

afterAll(async () => {
  await server?.close();
});

describe('REST error messages use REST names', () => {
  it('names first_name in the message, the param and errors[] of PUT /people with an empty first_name', async () => {
    const response = await api.put('/people', { email: 'a@example.com', first_name: '' });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'first_name', message: 'first_name must be 1 to 255 characters' });
    expect(error.errors).toEqual([{ param: 'first_name', code: 'INVALID_FIELD_VALUE', message: error.message }]);
    expectRestNames(error);
  });

  it('lists first_name and last_name by their REST names when both fail', async () => {
    const response = await api.put('/people', { email: 'b@example.com', first_name: '', last_name: '' });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'VALIDATION_FAILED', param: null, message: '2 fields failed validation: first_name, last_name.' });
    expect(error.errors?.map((field) => field.message)).toEqual([expect.stringMatching(/^first_name must be/), expect.stringMatching(/^last_name must be/)]);
    expectRestNames(error);
  });

  it('asks for external_id or email when PUT /people has neither', async () => {
    const response = await api.put('/people', { first_name: 'Nobody' });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'external_id', message: 'Give external_id or email (or both)' });
    expectRestNames(error);
  });

  it('names company.name of a company without a name', async () => {
    const response = await api.put('/people', { email: 'c@example.com', company: { name: ' ' } });
    expectRestNames(expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'company.name', message: 'company.name must be' }));
  });

  it('names display_ts, external_id and person_id of a record by their REST names', async () => {
    const response = await api.post(`/feedback-sources/${sourceId}/records`, textRecord('Hello', { display_ts: 'yesterday', external_id: '', person_id: 'abc' }));
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'VALIDATION_FAILED', param: null });
    expect(error.message).toBe('3 fields failed validation: person_id, display_ts, external_id.');
    expect(error.errors?.map((field) => [field.param, field.message.split(' ')[0]])).toEqual([
      ['person_id', 'person_id'],
      ['display_ts', 'display_ts'],
      ['external_id', 'external_id'],
    ]);
    expectRestNames(error);
  });

  it('names external_id in the DUPLICATE_EXTERNAL_ID message', async () => {
    await api.ingest(sourceId, textRecord('First', { external_id: 'dup-1' }));
    const response = await api.post(`/feedback-sources/${sourceId}/records`, textRecord('Again', { external_id: 'dup-1' }));
    expectRestNames(expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'DUPLICATE_EXTERNAL_ID', param: 'external_id', message: 'A record with external_id "dup-1" already exists' }));
  });

  it.each(['/feedback-sources', '/people', `/feedback-sources/{id}/records`])('says cursor, not after, when GET %s gets a cursor this API never returned', async (path) => {
    const response = await api.get(path.replace('{id}', String(sourceId)), { query: { cursor: 'garbage' } });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_CURSOR', param: 'cursor', message: 'cursor is not a cursor this API returned' });
    expectRestNames(error);
  });

  it('names the path parameter id when a record is ingested into a source id that is not an id', async () => {
    const response = await api.post('/feedback-sources/0/records', textRecord('Nowhere'));
    expectRestNames(expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id' }));
  });
});

describe('the same failures over GraphQL use GraphQL names', () => {
  it('names firstName in the message of upsertPerson with an empty firstName', async () => {
    const token = await server.createToken('Names Corp');
    const response = await server.graphql<{ upsertPerson: { code: string; param: string; message: string; errors: { param: string; message: string }[] } }>(
      'mutation ($input: UpsertPersonInput!) { upsertPerson(input: $input) { ... on ValidationError { code param message errors { param message } } } }',
      { input: { email: 'd@example.com', firstName: '' } },
      token,
    );
    expect(response.body.data?.upsertPerson).toMatchObject({ code: 'INVALID_FIELD_VALUE', param: 'firstName', message: expect.stringMatching(/^firstName must be 1 to 255 characters/) });
    expect(response.body.data?.upsertPerson.errors).toEqual([{ param: 'firstName', message: expect.stringMatching(/^firstName must be/) }]);
  });

  it('asks for externalId or email when upsertPerson has neither', async () => {
    const token = await server.createToken('Names Corp');
    const response = await server.graphql<{ upsertPerson: { message: string } }>(
      'mutation ($input: UpsertPersonInput!) { upsertPerson(input: $input) { ... on ValidationError { message } } }',
      { input: { firstName: 'Nobody' } },
      token,
    );
    expect(response.body.data?.upsertPerson.message).toBe('Give externalId or email (or both) to identify the person.');
  });
});

describe('Idempotency-Key messages', () => {
  it('counts the characters of a UTF-8 key, not its bytes, and names the first one outside the rule', async () => {
    // Header values go out as UTF-8: "é" is two bytes but one character.
    const response = await api.post('/feedback-sources', { name: 'Keyed' }, { key: 'clé-1' });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_IDEMPOTENCY_KEY', param: 'Idempotency-Key' });
    expect(error.message).toBe(
      'The Idempotency-Key header must be 1 to 255 printable ASCII characters (U+0020 to U+007E); got 5 characters, including U+00E9, which is not printable ASCII.',
    );
  });

  it('counts the characters of an overlong key', async () => {
    const response = await api.post('/feedback-sources', { name: 'Long key' }, { headers: { 'idempotency-key': 'k'.repeat(256) } });
    expectErrorEnvelope(response, {
      status: 400,
      type: 'validation_error',
      code: 'INVALID_IDEMPOTENCY_KEY',
      param: 'Idempotency-Key',
      message: 'must be 1 to 255 printable ASCII characters (U+0020 to U+007E); got 256 characters.',
    });
  });
});
