import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Company } from '../../src/people/company.entity.ts';
import { Person } from '../../src/people/person.entity.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { FeedbackSource } from '../../src/sources/source.entity.ts';
import { expectErrorEnvelope, type HttpReply, type HttpRequest, send as sendHttp } from '../helpers/http.ts';
import { textField } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { FRESH_REQUEST_ID } from '../helpers/spec.ts';

const MIB = 1024 * 1024;

let server: TestServer;
let token: string;
let sourceId: number;
let personId: number;
let recordId: number;

interface Send {
  body?: string | Buffer;
  chunks?: readonly (string | Buffer)[];
  /** Defaults to application/json when there is a body; null sends none. */
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Defaults to the suite's token; null sends none. */
  token?: string | null;
}

/** Sends a request under /v3/rest with the suite's token; `path` is sent exactly as written. */
function send(method: string, path: string, options: Send = {}): Promise<HttpReply> {
  const headers: Record<string, string> = { ...options.headers };
  const sentToken = options.token === undefined ? token : options.token;
  if (sentToken) headers['x-api-token'] = sentToken;
  const hasBody = options.body !== undefined || options.chunks !== undefined;
  const contentType = options.contentType === undefined ? (hasBody ? 'application/json' : null) : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const request: HttpRequest = { method, path: `/v3/rest${path}`, headers };
  if (options.body !== undefined) request.body = options.body;
  if (options.chunks !== undefined) request.chunks = options.chunks;
  return sendHttp(server.url, request);
}

function sendJson(method: string, path: string, value: unknown, options: Send = {}): Promise<HttpReply> {
  return send(method, path, { ...options, body: JSON.stringify(value) });
}

/** Row counts of every resource table, and the fixture rows a rejected update must leave alone. */
async function databaseState() {
  const em = server.orm.em.fork();
  const source = await em.findOneOrFail(FeedbackSource, sourceId);
  const person = await em.findOneOrFail(Person, personId);
  const record = await em.findOneOrFail(FeedbackRecord, recordId);
  return {
    sources: await em.count(FeedbackSource, {}),
    people: await em.count(Person, {}),
    companies: await em.count(Company, {}),
    records: await em.count(FeedbackRecord, {}),
    source: { name: source.name, type: source.type, description: source.description, updatedAt: source.updatedAt.toISOString() },
    person: { email: person.email, externalId: person.externalId, firstName: person.firstName, phone: person.phone, updatedAt: person.updatedAt.toISOString() },
    record: { externalId: record.externalId, fields: record.fields },
  };
}

/** Sends a write that must be refused and asserts that the database is exactly as before. */
async function rejectedWrite(send: () => Promise<HttpReply>): Promise<HttpReply> {
  const before = await databaseState();
  const reply = await send();
  expect(await databaseState()).toEqual(before);
  return reply;
}

async function created(method: string, path: string, body: unknown): Promise<number> {
  const reply = await sendJson(method, path, body);
  expect(reply.status, reply.text).toBe(201);
  return (JSON.parse(reply.text) as { id: number }).id;
}

interface Write {
  route: string;
  method: string;
  path: () => string;
  valid: Record<string, unknown>;
}

/** Every REST write that takes a JSON body, with a body it would accept. */
const writes: Write[] = [
  { route: 'POST /feedback-sources', method: 'POST', path: () => '/feedback-sources', valid: { name: 'Never created' } },
  { route: 'PATCH /feedback-sources/{id}', method: 'PATCH', path: () => `/feedback-sources/${sourceId}`, valid: { description: 'Never stored' } },
  { route: 'PUT /people', method: 'PUT', path: () => '/people', valid: { email: 'never.created@example.com' } },
  { route: 'POST /feedback-sources/{id}/records', method: 'POST', path: () => `/feedback-sources/${sourceId}/records`, valid: { fields: [textField('Never stored')] } },
];

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Hostile Corp');
  sourceId = await created('POST', '/feedback-sources', { name: 'Zendesk Support Tickets', type: 'support_tickets', description: 'Kept as is' });
  personId = await created('PUT', '/people', { email: 'maria.garcia@northwind.example', first_name: 'María', company: { name: 'Northwind Traders', domain: 'northwind.example' } });
  recordId = await created('POST', `/feedback-sources/${sourceId}/records`, { person_id: personId, external_id: 'zendesk-48213', fields: [textField('Export times out')] });
});

afterAll(() => server.close());

describe.each(writes)('$route request body', (write) => {
  it.each([
    { kind: 'truncated JSON', body: '{"name": "Trunc' },
    { kind: 'JSON followed by garbage', body: '{"name": "Trailing"} garbage' },
    { kind: 'single-quoted JSON', body: "{'name': 'Single'}" },
    { kind: 'JSON with a trailing comma', body: '{"name": "Comma",}' },
  ])('answers 400 INVALID_JSON with param body to $kind and writes nothing', async ({ body }) => {
    const reply = await rejectedWrite(() => send(write.method, write.path(), { body }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_JSON', param: 'body' });
  });

  it.each([
    { kind: 'text/plain', contentType: 'text/plain', body: '{"name": "Plain"}' },
    { kind: 'application/x-www-form-urlencoded', contentType: 'application/x-www-form-urlencoded', body: 'name=Form&type=api' },
    { kind: 'multipart/form-data', contentType: 'multipart/form-data; boundary=XyZ', body: '--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\nMultipart\r\n--XyZ--\r\n' },
    { kind: 'no content type', contentType: null, body: '{"name": "Untyped"}' },
  ])('answers 400 UNSUPPORTED_MEDIA_TYPE with param body to a body sent as $kind and writes nothing', async ({ contentType, body }) => {
    const reply = await rejectedWrite(() => send(write.method, write.path(), { body, contentType }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'UNSUPPORTED_MEDIA_TYPE', param: 'body' });
  });

  it.each([
    { kind: 'an array', body: '[]' },
    { kind: 'an array of the object', body: '[{"name": "In a list"}]' },
    { kind: 'a string', body: '"Zendesk"' },
    { kind: 'a number', body: '42' },
    { kind: 'a boolean', body: 'true' },
    { kind: 'null', body: 'null' },
  ])('answers 400 INVALID_FIELD_VALUE with param body to $kind where an object belongs and writes nothing', async ({ body }) => {
    const reply = await rejectedWrite(() => send(write.method, write.path(), { body }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'body' });
  });

  it('answers 400 INVALID_FIELD_VALUE with param body to an empty JSON body and writes nothing', async () => {
    const reply = await rejectedWrite(() => send(write.method, write.path(), { body: '' }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'body' });
  });

  it('answers 400 PAYLOAD_TOO_LARGE with param body to a JSON body of 1 MiB and 1 byte and writes nothing', async () => {
    const prefix = '{"external_id": "';
    const body = `${prefix}${'a'.repeat(MIB + 1 - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(body)).toBe(MIB + 1);
    const reply = await rejectedWrite(() => send(write.method, write.path(), { body }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'PAYLOAD_TOO_LARGE', param: 'body' });
  });

  it('answers 400 INVALID_FIELD_VALUE naming a __proto__ key and writes nothing', async () => {
    const body = `${JSON.stringify(write.valid).slice(0, -1)}, "__proto__": {"admin": true}}`;
    const reply = await rejectedWrite(() => send(write.method, write.path(), { body }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: '__proto__' });
  });

  it('answers 400 INVALID_FIELD_VALUE naming an unknown key and writes nothing', async () => {
    const reply = await rejectedWrite(() => sendJson(write.method, write.path(), { ...write.valid, colour: 'red' }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'colour', message: 'colour' });
  });

  it('answers 400 INVALID_FIELD_VALUE naming an unknown query key and writes nothing', async () => {
    const reply = await rejectedWrite(() => sendJson(write.method, `${write.path()}?dry_run=true`, write.valid));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'dry_run', message: 'dry_run' });
  });
});

describe('request body size', () => {
  it('answers 400 PAYLOAD_TOO_LARGE to a chunked JSON body over 1 MiB (no Content-Length) and writes nothing', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const chunks = ['{"fields": [{"category": "content", "type": "string", "name": "text", "value": "', ...Array.from({ length: 17 }, () => chunk), '"}]}'];
    const reply = await rejectedWrite(() => send('POST', `/feedback-sources/${sourceId}/records`, { chunks }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'PAYLOAD_TOO_LARGE', param: 'body' });
  });

  it('reads a JSON body of exactly 1 MiB and answers its validation error, not PAYLOAD_TOO_LARGE', async () => {
    const prefix = '{"name": "Exactly one MiB", "description": "';
    const body = `${prefix}${'a'.repeat(MIB - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(body)).toBe(MIB);
    const reply = await rejectedWrite(() => send('POST', '/feedback-sources', { body }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'description' });
  });

  it('answers 400 INVALID_FIELD_VALUE, not a server error, to a json value nested 100,000 levels deep', async () => {
    const value = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const body = `{"fields": [{"category": "metadata", "type": "json", "name": "nested", "value": ${value}}]}`;
    const reply = await rejectedWrite(() => send('POST', `/feedback-sources/${sourceId}/records`, { body }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields[0].value', message: '64 levels' });
  });

  it('answers 400 INVALID_FIELD_VALUE to a json value nested 65 levels deep', async () => {
    const value = `${'['.repeat(65)}${']'.repeat(65)}`;
    const body = `{"fields": [{"category": "metadata", "type": "json", "name": "nested", "value": ${value}}]}`;
    const reply = await rejectedWrite(() => send('POST', `/feedback-sources/${sourceId}/records`, { body }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields[0].value', message: '64 levels' });
  });

  it('answers 400 INVALID_FIELD_VALUE with param name, not a server error, to a 10 KB list nested 5,000 levels deep where the name belongs', async () => {
    const body = `{"name": ${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    const reply = await rejectedWrite(() => send('POST', '/feedback-sources', { body }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'name' });
  });

  it('ingests a json value nested 64 levels deep', async () => {
    const value = `${'['.repeat(64)}${']'.repeat(64)}`;
    const body = `{"fields": [{"category": "metadata", "type": "json", "name": "nested", "value": ${value}}]}`;
    const reply = await send('POST', `/feedback-sources/${sourceId}/records`, { body });
    expect(reply.status, reply.text).toBe(201);
    const record = JSON.parse(reply.text) as { id: number; fields: { value: unknown }[] };
    expect(JSON.stringify(record.fields[0]?.value)).toBe(value);
    const stored = await server.orm.em.fork().findOneOrFail(FeedbackRecord, record.id);
    expect(JSON.stringify(stored.fields[0]?.value)).toBe(value);
  });
});

describe('DELETE with an empty body sent as application/json', () => {
  it('deletes the feedback source and answers 200 { id, deleted: true }', async () => {
    const id = await created('POST', '/feedback-sources', { name: 'Deleted with an empty JSON body' });
    const reply = await send('DELETE', `/feedback-sources/${id}`, { body: '', contentType: 'application/json' });
    expect(reply.status, reply.text).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({ id, deleted: true });
    expect(await server.orm.em.fork().count(FeedbackSource, { id })).toBe(0);
  });

  it('deletes the person and answers 200 { id, deleted: true }', async () => {
    const id = await created('PUT', '/people', { email: 'deleted.with.empty.body@example.com' });
    const reply = await send('DELETE', `/people/${id}`, { body: '', contentType: 'application/json' });
    expect(reply.status, reply.text).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({ id, deleted: true });
    expect(await server.orm.em.fork().count(Person, { id })).toBe(0);
  });

  it('deletes the record and answers 200 { id, deleted: true }', async () => {
    const id = await created('POST', `/feedback-sources/${sourceId}/records`, { fields: [textField('Deleted with an empty JSON body')] });
    const reply = await send('DELETE', `/feedback-sources/${sourceId}/records/${id}`, { body: '', contentType: 'application/json' });
    expect(reply.status, reply.text).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({ id, deleted: true });
    expect(await server.orm.em.fork().count(FeedbackRecord, { id })).toBe(0);
  });
});

describe('unknown routes and methods', () => {
  it.each([
    { method: 'GET', path: '/v3/rest/nope' },
    { method: 'GET', path: '/v3/rest' },
    { method: 'GET', path: '/v3/rest/feedback-sources/1/nope' },
    { method: 'GET', path: '/v3/rest/feedback-sources/1/records/1/fields' },
    { method: 'GET', path: '/v3/rest/companies' },
  ])('answers 404 ROUTE_NOT_FOUND naming $method $path', async ({ method, path }) => {
    const reply = await sendHttp(server.url, { method, path, headers: { 'x-api-token': token } });
    expectErrorEnvelope(reply, { status: 404, type: 'not_found_error', code: 'ROUTE_NOT_FOUND', param: null, message: `${method} ${path}` });
  });

  it.each([
    { method: 'PUT', path: '/v3/rest/feedback-sources/1' },
    { method: 'POST', path: '/v3/rest/people' },
    { method: 'PATCH', path: '/v3/rest/people/1' },
    { method: 'DELETE', path: '/v3/rest/feedback-sources' },
    { method: 'DELETE', path: '/v3/rest/people' },
    { method: 'POST', path: '/v3/rest/feedback-sources/1' },
    { method: 'PUT', path: '/v3/rest/feedback-sources/1/records' },
    { method: 'PATCH', path: '/v3/rest/feedback-sources/1/records/1' },
    { method: 'POST', path: '/v3/rest/feedback-sources/1/records/1' },
  ])('answers 404 ROUTE_NOT_FOUND to $method $path, a method the path does not have, and writes nothing', async ({ method, path }) => {
    const body = JSON.stringify({ name: 'Never created', email: 'never@example.com' });
    const reply = await rejectedWrite(() => sendHttp(server.url, { method, path, headers: { 'x-api-token': token, 'content-type': 'application/json' }, body }));
    expectErrorEnvelope(reply, { status: 404, type: 'not_found_error', code: 'ROUTE_NOT_FOUND', param: null, message: `${method} ${path}` });
  });

  // QUERY is a method with a body that Fastify refuses without a Content-Type before any handler runs.
  it.each([
    { method: 'QUERY', path: '/healthz', headers: {} },
    { method: 'QUERY', path: '/readyz', headers: { 'x-api-token': 'token' } },
    { method: 'QUERY', path: '/v3/rest/feedback-sources', headers: { 'x-api-token': 'token' } },
    { method: 'QUERY', path: '/v3/rest/feedback-sources', headers: {} },
    { method: 'QUERY', path: '/v3/rest/feedback-sources', headers: { 'x-api-token': 'token', 'content-type': 'application/json' }, body: '{}' },
    { method: 'QUERY', path: '/docs/errors', headers: { 'content-type': 'text/plain' }, body: 'x' },
    { method: 'PROPFIND', path: '/v3/rest/people', headers: { 'x-api-token': 'token' } },
    { method: 'SEARCH', path: '/healthz', headers: {} },
  ])('answers 404 ROUTE_NOT_FOUND to $method $path, a method no route serves', async ({ method, path, headers, body }) => {
    const sent: Record<string, string> = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value === 'token' ? token : value]));
    const reply = await sendHttp(server.url, { method, path, headers: sent, ...(body === undefined ? {} : { body }) });
    expectErrorEnvelope(reply, { status: 404, type: 'not_found_error', code: 'ROUTE_NOT_FOUND', param: null, message: `${method} ${path}` });
  });

  it('answers QUERY /graphql, a method GraphQL does not serve, with 404 ROUTE_NOT_FOUND in GraphQL form', async () => {
    const reply = await sendHttp(server.url, { method: 'QUERY', path: '/graphql', headers: {} });
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.text)).toMatchObject({ errors: [{ extensions: { type: 'not_found_error', code: 'ROUTE_NOT_FOUND' } }] });
  });
});

interface IdPosition {
  route: string;
  param: 'id' | 'record_id';
  method: string;
  path: (id: string) => string;
  body?: () => Record<string, unknown>;
}

const idPositions: IdPosition[] = [
  { route: 'GET /feedback-sources/{id}', param: 'id', method: 'GET', path: (id) => `/feedback-sources/${id}` },
  { route: 'PATCH /feedback-sources/{id}', param: 'id', method: 'PATCH', path: (id) => `/feedback-sources/${id}`, body: () => ({ description: 'Never stored' }) },
  { route: 'DELETE /feedback-sources/{id}', param: 'id', method: 'DELETE', path: (id) => `/feedback-sources/${id}` },
  { route: 'GET /people/{id}', param: 'id', method: 'GET', path: (id) => `/people/${id}` },
  { route: 'DELETE /people/{id}', param: 'id', method: 'DELETE', path: (id) => `/people/${id}` },
  { route: 'POST /feedback-sources/{id}/records', param: 'id', method: 'POST', path: (id) => `/feedback-sources/${id}/records`, body: () => ({ fields: [textField('Never stored')] }) },
  { route: 'GET /feedback-sources/{id}/records', param: 'id', method: 'GET', path: (id) => `/feedback-sources/${id}/records` },
  { route: 'GET /feedback-sources/{id}/records/{record_id}', param: 'id', method: 'GET', path: (id) => `/feedback-sources/${id}/records/${recordId}` },
  { route: 'GET /feedback-sources/{id}/records/{record_id}', param: 'record_id', method: 'GET', path: (id) => `/feedback-sources/${sourceId}/records/${id}` },
  { route: 'DELETE /feedback-sources/{id}/records/{record_id}', param: 'id', method: 'DELETE', path: (id) => `/feedback-sources/${id}/records/${recordId}` },
  { route: 'DELETE /feedback-sources/{id}/records/{record_id}', param: 'record_id', method: 'DELETE', path: (id) => `/feedback-sources/${sourceId}/records/${id}` },
];

/** Path segments that are not positive integer ids, as sent and as the server decodes them. */
const badIds = [
  { sent: 'abc', shown: 'abc' },
  { sent: '1.5', shown: '1.5' },
  { sent: '-1', shown: '-1' },
  { sent: '0', shown: '0' },
  { sent: '1e3', shown: '1e3' },
  { sent: '0x1F', shown: '0x1F' },
  { sent: '99999999999999999999', shown: '99999999999999999999' },
  { sent: '9007199254740992', shown: '9007199254740992' },
  { sent: '1%202', shown: '1 2' },
  { sent: '%201', shown: ' 1' },
  { sent: '%00', shown: '\\u0000' },
];

describe.each(idPositions)('$route with a malformed {$param}', (position) => {
  it.each(badIds)("answers 400 INVALID_ID with param $param naming '$shown', and writes nothing", async ({ sent, shown }) => {
    const path = position.path(sent);
    const reply = await rejectedWrite(() => (position.body ? sendJson(position.method, path, position.body()) : send(position.method, path)));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: position.param, message: shown });
  });
});

const listRoutes = [
  { route: 'GET /feedback-sources', path: () => '/feedback-sources' },
  { route: 'GET /people', path: () => '/people' },
  { route: 'GET /feedback-sources/{id}/records', path: () => `/feedback-sources/${sourceId}/records` },
];

describe.each(listRoutes)('$route query string', (list) => {
  it.each(['0', '101', 'abc', '1.5', '-1', '1e1', ''])("answers 400 INVALID_FIELD_VALUE with param limit to limit='%s'", async (limit) => {
    const reply = await send('GET', `${list.path()}?limit=${limit}`);
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'limit', message: `"${limit}"` });
  });

  it('answers 400 INVALID_FIELD_VALUE with param limit to a repeated limit', async () => {
    const reply = await send('GET', `${list.path()}?limit=1&limit=2`);
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'limit' });
  });

  it.each(['garbage', 'eyJpZCI6MX0', '%00'])("answers 400 INVALID_CURSOR with param cursor to cursor='%s'", async (cursor) => {
    const reply = await send('GET', `${list.path()}?cursor=${cursor}`);
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_CURSOR', param: 'cursor' });
  });

  it('answers 400 INVALID_FIELD_VALUE naming an unknown query key', async () => {
    const reply = await send('GET', `${list.path()}?colour=red`);
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'colour', message: 'colour' });
  });

  it('answers 400 VALIDATION_FAILED listing every failing query key', async () => {
    const reply = await send('GET', `${list.path()}?limit=0&colour=red`);
    expectErrorEnvelope(reply, {
      status: 400,
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'limit', code: 'INVALID_FIELD_VALUE' },
        { param: 'colour', code: 'INVALID_FIELD_VALUE' },
      ],
    });
  });
});

describe('GET /feedback-sources/{id}/records filters', () => {
  it.each([
    { param: 'since', value: '2025-01-01' },
    { param: 'since', value: 'yesterday' },
    { param: 'since', value: '2025-13-01T00:00:00Z' },
    { param: 'since', value: '2025-02-30T00:00:00Z' },
    { param: 'since', value: '2025-03-14T09:26:53' },
    { param: 'since', value: '1710408413' },
    { param: 'until', value: '2025-01-01' },
    { param: 'until', value: 'yesterday' },
    { param: 'until', value: '2025-13-01T00:00:00Z' },
    { param: 'until', value: '2025-03-14T25:00:00Z' },
  ])("answers 400 INVALID_FIELD_VALUE with param $param to $param='$value'", async ({ param, value }) => {
    const reply = await send('GET', `/feedback-sources/${sourceId}/records?${param}=${encodeURIComponent(value)}`);
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param, message: value });
  });

  it.each(['abc', '0', '-1', '1.5', '99999999999999999999'])("answers 400 INVALID_ID with param person_id to person_id='%s'", async (value) => {
    const reply = await send('GET', `/feedback-sources/${sourceId}/records?person_id=${value}`);
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'person_id', message: value });
  });
});

describe('DELETE query strings', () => {
  it("answers 400 INVALID_FIELD_VALUE with param cascade to cascade='yes' and deletes nothing", async () => {
    const reply = await rejectedWrite(() => send('DELETE', `/feedback-sources/${sourceId}?cascade=yes`));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'cascade', message: 'yes' });
  });

  it('answers 400 INVALID_FIELD_VALUE naming force, an unknown query key, and deletes nothing', async () => {
    const reply = await rejectedWrite(() => send('DELETE', `/feedback-sources/${sourceId}?force=true`));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'force' });
  });

  it('answers 400 INVALID_FIELD_VALUE naming cascade, which people do not take, and deletes nothing', async () => {
    const reply = await rejectedWrite(() => send('DELETE', `/people/${personId}?cascade=true`));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'cascade' });
  });

  it('answers 400 INVALID_FIELD_VALUE naming an unknown query key on a record and deletes nothing', async () => {
    const reply = await rejectedWrite(() => send('DELETE', `/feedback-sources/${sourceId}/records/${recordId}?hard=true`));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'hard' });
  });
});

interface BadBody {
  what: string;
  param: string;
  code: string;
  body: () => Record<string, unknown>;
}

/** A JSON value of the wrong type, or an unknown key, in every body field of every write. */
const badBodies: { route: string; method: string; path: () => string; cases: BadBody[] }[] = [
  {
    route: 'POST /feedback-sources',
    method: 'POST',
    path: () => '/feedback-sources',
    cases: [
      { what: 'a number for name', param: 'name', code: 'INVALID_FIELD_VALUE', body: () => ({ name: 42 }) },
      { what: 'null for name', param: 'name', code: 'INVALID_FIELD_VALUE', body: () => ({ name: null }) },
      { what: 'no name', param: 'name', code: 'INVALID_FIELD_VALUE', body: () => ({ type: 'api' }) },
      { what: 'an object for name', param: 'name', code: 'INVALID_FIELD_VALUE', body: () => ({ name: { en: 'Zendesk' } }) },
      { what: 'a number for type', param: 'type', code: 'INVALID_FIELD_VALUE', body: () => ({ name: 'Typed', type: 7 }) },
      { what: 'a list for description', param: 'description', code: 'INVALID_FIELD_VALUE', body: () => ({ name: 'Described', description: ['a'] }) },
      { what: 'an unknown key', param: 'record_count', code: 'INVALID_FIELD_VALUE', body: () => ({ name: 'Counted', record_count: 5 }) },
    ],
  },
  {
    route: 'PATCH /feedback-sources/{id}',
    method: 'PATCH',
    path: () => `/feedback-sources/${sourceId}`,
    cases: [
      { what: 'a boolean for name', param: 'name', code: 'INVALID_FIELD_VALUE', body: () => ({ name: true }) },
      { what: 'a number for type', param: 'type', code: 'INVALID_FIELD_VALUE', body: () => ({ type: 1 }) },
      { what: 'an object for description', param: 'description', code: 'INVALID_FIELD_VALUE', body: () => ({ description: {} }) },
      { what: 'an unknown id key', param: 'id', code: 'INVALID_FIELD_VALUE', body: () => ({ id: 99, name: 'Renamed' }) },
    ],
  },
  {
    route: 'PUT /people',
    method: 'PUT',
    path: () => '/people',
    cases: [
      { what: 'a number for external_id', param: 'external_id', code: 'INVALID_FIELD_VALUE', body: () => ({ external_id: 48213 }) },
      { what: 'a number for email', param: 'email', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 42, external_id: 'p-1' }) },
      { what: 'a boolean for first_name', param: 'first_name', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'a@example.com', first_name: true }) },
      { what: 'a list for last_name', param: 'last_name', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'a@example.com', last_name: ['García'] }) },
      { what: 'a number for phone', param: 'phone', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'a@example.com', phone: 34912345678 }) },
      { what: 'a number for boundary', param: 'boundary', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'a@example.com', boundary: 1 }) },
      { what: 'a string for company', param: 'company', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'a@example.com', company: 'Northwind Traders' }) },
      { what: 'a number for company.name', param: 'company.name', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'a@example.com', company: { name: 7 } }) },
      { what: 'a number for company.domain', param: 'company.domain', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'a@example.com', company: { name: 'Northwind', domain: 7 } }) },
      { what: 'an unknown key in company', param: 'company.industry', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'a@example.com', company: { name: 'Northwind', industry: 'retail' } }) },
      { what: 'an unknown organization_id key', param: 'organization_id', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'a@example.com', organization_id: 1 }) },
      { what: 'neither external_id nor email', param: 'external_id', code: 'INVALID_FIELD_VALUE', body: () => ({ first_name: 'Nobody' }) },
    ],
  },
  {
    route: 'POST /feedback-sources/{id}/records',
    method: 'POST',
    path: () => `/feedback-sources/${sourceId}/records`,
    cases: [
      { what: 'a string for person_id', param: 'person_id', code: 'INVALID_ID', body: () => ({ person_id: 'abc', fields: [textField('x')] }) },
      { what: 'a fraction for person_id', param: 'person_id', code: 'INVALID_ID', body: () => ({ person_id: 1.5, fields: [textField('x')] }) },
      { what: 'zero for person_id', param: 'person_id', code: 'INVALID_ID', body: () => ({ person_id: 0, fields: [textField('x')] }) },
      { what: 'an unsafe integer for person_id', param: 'person_id', code: 'INVALID_ID', body: () => ({ person_id: 2 ** 53, fields: [textField('x')] }) },
      { what: 'a number for display_ts', param: 'display_ts', code: 'INVALID_FIELD_VALUE', body: () => ({ display_ts: 1710408413, fields: [textField('x')] }) },
      { what: 'a date for display_ts', param: 'display_ts', code: 'INVALID_FIELD_VALUE', body: () => ({ display_ts: '2025-03-14', fields: [textField('x')] }) },
      { what: 'a number for external_id', param: 'external_id', code: 'INVALID_FIELD_VALUE', body: () => ({ external_id: 48213, fields: [textField('x')] }) },
      { what: 'no fields', param: 'fields', code: 'INVALID_FIELD_VALUE', body: () => ({ external_id: 'no-fields' }) },
      { what: 'an object for fields', param: 'fields', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: { text: 'x' } }) },
      { what: 'a string for fields', param: 'fields', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: 'x' }) },
      { what: 'an empty list for fields', param: 'fields', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: [] }) },
      { what: 'a string for a field', param: 'fields[0]', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: ['x'] }) },
      { what: 'a number for fields[0].category', param: 'fields[0].category', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: [textField('x', { category: 1 })] }) },
      { what: 'null for fields[0].type', param: 'fields[0].type', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: [textField('x', { type: null })] }) },
      { what: 'a number for fields[0].name', param: 'fields[0].name', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: [textField('x', { name: 5 })] }) },
      { what: 'a number for a string value', param: 'fields[0].value', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: [textField(5)] }) },
      { what: 'an unknown key in a field', param: 'fields[0].unit', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: [textField('x', { unit: 'ms' })] }) },
      { what: 'an unknown source_id key', param: 'source_id', code: 'INVALID_FIELD_VALUE', body: () => ({ source_id: sourceId, fields: [textField('x')] }) },
    ],
  },
];

describe.each(badBodies)('$route body fields', ({ method, path, cases }) => {
  it.each(cases)('answers 400 $code with param $param to $what and writes nothing', async ({ param, code, body }) => {
    const reply = await rejectedWrite(() => sendJson(method, path(), body()));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code, param });
  });
});

describe('several failing body fields', () => {
  it('answers 400 VALIDATION_FAILED listing a wrong type and an unknown key together', async () => {
    const reply = await rejectedWrite(() => sendJson('POST', '/feedback-sources', { name: 42, colour: 'red' }));
    expectErrorEnvelope(reply, {
      status: 400,
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'name', code: 'INVALID_FIELD_VALUE' },
        { param: 'colour', code: 'INVALID_FIELD_VALUE' },
      ],
    });
  });

  it('answers 400 VALIDATION_FAILED listing every failing field of a record', async () => {
    const body = { person_id: 'abc', display_ts: 'yesterday', fields: [textField(5, { category: 'nope' })] };
    const reply = await rejectedWrite(() => sendJson('POST', `/feedback-sources/${sourceId}/records`, body));
    const error = expectErrorEnvelope(reply, {
      status: 400,
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'person_id', code: 'INVALID_ID' },
        { param: 'display_ts', code: 'INVALID_FIELD_VALUE' },
        { param: 'fields[0].category', code: 'INVALID_FIELD_VALUE' },
        { param: 'fields[0].value', code: 'INVALID_FIELD_VALUE' },
      ],
    });
    expect(error.errors).toHaveLength(4);
  });
});

/** U+0000, which PostgreSQL cannot store, in each text a client can send. */
const nulCases: { route: string; method: string; path: () => string; param: string; code: string; body: () => Record<string, unknown> }[] = [
  { route: 'POST /feedback-sources', method: 'POST', path: () => '/feedback-sources', param: 'name', code: 'INVALID_FIELD_VALUE', body: () => ({ name: 'Zen\u0000desk' }) },
  { route: 'POST /feedback-sources', method: 'POST', path: () => '/feedback-sources', param: 'type', code: 'INVALID_FIELD_VALUE', body: () => ({ name: 'Nul type', type: 'api\u0000' }) },
  { route: 'POST /feedback-sources', method: 'POST', path: () => '/feedback-sources', param: 'description', code: 'INVALID_FIELD_VALUE', body: () => ({ name: 'Nul description', description: 'a\u0000b' }) },
  { route: 'PATCH /feedback-sources/{id}', method: 'PATCH', path: () => `/feedback-sources/${sourceId}`, param: 'name', code: 'INVALID_FIELD_VALUE', body: () => ({ name: '\u0000' }) },
  { route: 'PATCH /feedback-sources/{id}', method: 'PATCH', path: () => `/feedback-sources/${sourceId}`, param: 'description', code: 'INVALID_FIELD_VALUE', body: () => ({ description: 'a\u0000' }) },
  { route: 'PUT /people', method: 'PUT', path: () => '/people', param: 'external_id', code: 'INVALID_FIELD_VALUE', body: () => ({ external_id: 'p\u00001' }) },
  { route: 'PUT /people', method: 'PUT', path: () => '/people', param: 'email', code: 'INVALID_EMAIL', body: () => ({ email: 'nul\u0000@example.com' }) },
  { route: 'PUT /people', method: 'PUT', path: () => '/people', param: 'first_name', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'nul.first@example.com', first_name: 'Ma\u0000ría' }) },
  { route: 'PUT /people', method: 'PUT', path: () => '/people', param: 'last_name', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'nul.last@example.com', last_name: '\u0000' }) },
  { route: 'PUT /people', method: 'PUT', path: () => '/people', param: 'phone', code: 'INVALID_PHONE_NUMBER', body: () => ({ email: 'nul.phone@example.com', phone: '+3491234\u00005678' }) },
  { route: 'PUT /people', method: 'PUT', path: () => '/people', param: 'boundary', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'nul.boundary@example.com', boundary: 'internal\u0000' }) },
  { route: 'PUT /people', method: 'PUT', path: () => '/people', param: 'company.name', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'nul.company@example.com', company: { name: 'North\u0000wind' } }) },
  { route: 'PUT /people', method: 'PUT', path: () => '/people', param: 'company.domain', code: 'INVALID_FIELD_VALUE', body: () => ({ email: 'nul.domain@example.com', company: { name: 'Northwind', domain: 'north\u0000wind.example' } }) },
  { route: 'POST /feedback-sources/{id}/records', method: 'POST', path: () => `/feedback-sources/${sourceId}/records`, param: 'external_id', code: 'INVALID_FIELD_VALUE', body: () => ({ external_id: 'z\u0000', fields: [textField('x')] }) },
  { route: 'POST /feedback-sources/{id}/records', method: 'POST', path: () => `/feedback-sources/${sourceId}/records`, param: 'display_ts', code: 'INVALID_FIELD_VALUE', body: () => ({ display_ts: '2025-03-14T09:26:53Z\u0000', fields: [textField('x')] }) },
  { route: 'POST /feedback-sources/{id}/records', method: 'POST', path: () => `/feedback-sources/${sourceId}/records`, param: 'fields[0].category', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: [textField('x', { category: 'content\u0000' })] }) },
  { route: 'POST /feedback-sources/{id}/records', method: 'POST', path: () => `/feedback-sources/${sourceId}/records`, param: 'fields[0].name', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: [textField('x', { name: 'sub\u0000ject' })] }) },
  { route: 'POST /feedback-sources/{id}/records', method: 'POST', path: () => `/feedback-sources/${sourceId}/records`, param: 'fields[0].value', code: 'INVALID_FIELD_VALUE', body: () => ({ fields: [textField('a\u0000b')] }) },
  {
    route: 'POST /feedback-sources/{id}/records',
    method: 'POST',
    path: () => `/feedback-sources/${sourceId}/records`,
    param: 'fields[0].value',
    code: 'INVALID_FIELD_VALUE',
    body: () => ({ fields: [{ category: 'metadata', type: 'json', name: 'tags', value: { 'ke\u0000y': ['ok'] } }] }),
  },
  {
    route: 'POST /feedback-sources/{id}/records',
    method: 'POST',
    path: () => `/feedback-sources/${sourceId}/records`,
    param: 'fields[0].value',
    code: 'INVALID_FIELD_VALUE',
    body: () => ({ fields: [{ category: 'metadata', type: 'json', name: 'tags', value: ['export', 'perf\u0000'] }] }),
  },
];

describe('U+0000 in text', () => {
  it.each(nulCases)('answers 400 $code with param $param to U+0000 in $param on $route and writes nothing', async ({ method, path, param, code, body }) => {
    const reply = await rejectedWrite(() => sendJson(method, path(), body()));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code, param });
  });

  it('answers 400 INVALID_FIELD_VALUE with param name to an unpaired surrogate in a source name and writes nothing', async () => {
    const reply = await rejectedWrite(() => send('POST', '/feedback-sources', { body: '{"name": "Zendesk \\ud800"}' }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'name' });
  });

  it('answers 400 INVALID_FIELD_VALUE with param name to U+0000 in the name filter of GET /feedback-sources', async () => {
    const reply = await send('GET', '/feedback-sources?name=Zen%00desk');
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'name' });
  });

  it('answers 400 INVALID_FIELD_VALUE with param email to U+0000 in the email filter of GET /people', async () => {
    const reply = await send('GET', '/people?email=maria%00@northwind.example');
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'email' });
  });
});

describe('credentials come before input checks', () => {
  it('answers 401 API_TOKEN_MISSING, not INVALID_JSON, to malformed JSON sent without a token', async () => {
    const reply = await rejectedWrite(() => send('POST', '/feedback-sources', { body: '{"name": ', token: null }));
    expectErrorEnvelope(reply, { status: 401, type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
  });

  it('answers 401 API_TOKEN_MISSING, not UNSUPPORTED_MEDIA_TYPE, to a text/plain body sent without a token', async () => {
    const reply = await rejectedWrite(() => send('POST', '/feedback-sources', { body: 'name=x', contentType: 'text/plain', token: null }));
    expectErrorEnvelope(reply, { status: 401, type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
  });

  it('answers 401 API_TOKEN_MISSING, not INVALID_ID, to a malformed id sent without a token', async () => {
    const reply = await send('GET', '/feedback-sources/abc', { token: null });
    expectErrorEnvelope(reply, { status: 401, type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
  });
});

describe('X-Request-Id sent by the client', () => {
  it('replaces a 10,000-character X-Request-Id with a fresh one on an error, in headers and body', async () => {
    const sent = 'a'.repeat(10_000);
    const reply = await send('GET', '/feedback-sources/abc', { headers: { 'x-request-id': sent } });
    const error = expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id' });
    expect(reply.headers.get('x-request-id')).toMatch(FRESH_REQUEST_ID);
    expect(error.request_id).toMatch(FRESH_REQUEST_ID);
    expect(reply.text).not.toContain(sent.slice(0, 200));
  });

  it('replaces a 10,000-character X-Request-Id with a fresh one on a success', async () => {
    const reply = await send('GET', `/feedback-sources/${sourceId}`, { headers: { 'x-request-id': 'b'.repeat(10_000) } });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers.get('x-request-id')).toMatch(FRESH_REQUEST_ID);
    expect(reply.headers.get('correlation-id')).toBe(reply.headers.get('x-request-id'));
  });

  it('replaces an X-Request-Id holding markup with a fresh one', async () => {
    const reply = await send('GET', '/feedback-sources/abc', { headers: { 'x-request-id': '<script>alert(1)</script>' } });
    const error = expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id' });
    expect(error.request_id).toMatch(FRESH_REQUEST_ID);
  });

  it('echoes a well-formed X-Request-Id in the headers and the error body of a refused write', async () => {
    const sent = 'client-req.42:retry_1';
    const reply = await rejectedWrite(() => send('POST', '/feedback-sources', { body: '{"name": ', headers: { 'x-request-id': sent } }));
    const error = expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_JSON', param: 'body' });
    expect(reply.headers.get('x-request-id')).toBe(sent);
    expect(error.request_id).toBe(sent);
  });
});
