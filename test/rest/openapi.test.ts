import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, errorCatalog } from '../../src/errors/catalog.ts';
import { REST_PREFIX } from '../../src/rest/register.ts';
import { restRoutes } from '../../src/rest/routes.ts';
import { DocumentValidator, matchesTemplate, type OpenApiDocument, type OperationObject, operationKey, operationsOf } from '../helpers/openapi-conformance.ts';
import { PUBLIC_URL, send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { SPEC_ERROR_CODES, SPEC_ERROR_STATUSES, type SpecErrorType, specStatusOf } from '../helpers/spec.ts';

// SPEC §6 Meta: GET /v3/rest/openapi.json is a valid OpenAPI 3.1 document of every route, schema
// and error; every real response of every route must be one the document describes.

/** The REST routes of SPEC §6: the contract the document must cover. */
const SPEC_ROUTES = [
  'POST /v3/rest/feedback-sources',
  'GET /v3/rest/feedback-sources',
  'GET /v3/rest/feedback-sources/{id}',
  'PATCH /v3/rest/feedback-sources/{id}',
  'DELETE /v3/rest/feedback-sources/{id}',
  'PUT /v3/rest/people',
  'GET /v3/rest/people',
  'GET /v3/rest/people/{id}',
  'DELETE /v3/rest/people/{id}',
  'POST /v3/rest/feedback-sources/{id}/records',
  'GET /v3/rest/feedback-sources/{id}/records',
  'GET /v3/rest/feedback-sources/{id}/records/{record_id}',
  'DELETE /v3/rest/feedback-sources/{id}/records/{record_id}',
  // SPEC §11
  'GET /v3/rest/records',
  'GET /v3/rest/records/stats',
  // SPEC §12
  'POST /v3/rest/feedback-sources/{id}/records/batch',
  'POST /v3/rest/webhooks',
  'GET /v3/rest/webhooks',
  'GET /v3/rest/webhooks/{id}',
  'PATCH /v3/rest/webhooks/{id}',
  'DELETE /v3/rest/webhooks/{id}',
];

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** An Idempotency-Key already spent on POST /v3/rest/feedback-sources: reusing it elsewhere is a 409. */
const SPENT_KEY = 'conformance-spent-key';

let server: TestServer;
let token: string;
/** Tokens that lack the scopes of some routes, for their 403. */
let sourcesOnly: string;
let peopleOnly: string;
let doc: OpenApiDocument;
let operations: Map<string, OperationObject>;
let validator: DocumentValidator;

/** One request and the status it must get. */
interface Exchange {
  what: string;
  status: number;
  method: string;
  /** The full path, with /v3/rest. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** Sent as is with Content-Type: application/json, instead of `body`. */
  rawBody?: string;
  /** The suite's token unless told otherwise; null sends none. */
  token?: string | null;
  headers?: Record<string, string>;
}

interface Reply {
  status: number;
  contentType: string | null;
  headers: Headers;
  text: string;
}

async function call(exchange: Omit<Exchange, 'what' | 'status'>): Promise<Reply> {
  const headers: Record<string, string> = { ...exchange.headers };
  const sent = exchange.token === undefined ? token : exchange.token;
  if (sent) headers['x-api-token'] = sent;
  if (exchange.rawBody !== undefined) headers['content-type'] = 'application/json';
  const response = await send(server.url, {
    method: exchange.method,
    path: exchange.path,
    headers,
    ...(exchange.query === undefined ? {} : { query: exchange.query }),
    ...(exchange.rawBody === undefined ? { json: exchange.body } : { body: exchange.rawBody }),
  });
  return { status: response.status, contentType: response.headers.get('content-type'), headers: response.headers, text: response.text };
}

async function createdId(path: string, body: unknown, method = 'POST'): Promise<number> {
  const reply = await call({ method, path: `${REST_PREFIX}${path}`, body });
  expect(reply.status, reply.text).toBe(201);
  return (JSON.parse(reply.text) as { id: number }).id;
}

const sourcePath = (id: number | string) => `${REST_PREFIX}/feedback-sources/${id}`;
/** A public address as a literal: no DNS needed, and endpoints here only hear of disabled endpoints, so nothing is ever delivered. */
const WEBHOOK_URL = 'https://93.184.215.14/hooks';
const webhookId = () => createdId('/webhooks', { url: WEBHOOK_URL, event_types: ['webhook_endpoint.disabled'] });

/** A paused endpoint with one delivered event, as the outbox holds them. */
async function webhookEvent(): Promise<{ id: number; eventId: string }> {
  const id = await webhookId();
  const eventId = `msg_${String(id).padStart(32, '0')}`;
  const connection = server.orm.em.getConnection();
  await connection.execute('update "webhook_endpoint" set "enabled" = false where "id" = ?', [id]);
  await connection.execute(
    `insert into "webhook_event" ("id", "organization_id", "endpoint_id", "type", "payload", "created_at", "next_attempt_at", "status", "attempts")
      select ?, "organization_id", "id", 'webhook_endpoint.disabled', '{}', now(), null, 'delivered', 1 from "webhook_endpoint" where "id" = ?`,
    [eventId, id],
  );
  return { id, eventId };
}
const recordsPath = (id: number | string) => `${REST_PREFIX}/feedback-sources/${id}/records`;
const textField = (value: string) => ({ category: 'content', type: 'string', name: 'text', value });
const unauthenticated = (method: string, path: string): Exchange => ({ what: 'no token', status: 401, method, path, token: null });
/** Headers over the 16 KiB the server reads: refused before any route, so every operation can answer it. */
const oversizedHeaders = (path: string): Exchange => ({ what: 'headers over 16 KiB', status: 400, method: 'GET', path, token: null, headers: { 'x-padding': 'a'.repeat(17 * 1024) } });
const reusedKey = (method: string, path: string, body?: unknown): Exchange => ({
  what: 'an Idempotency-Key spent on another request',
  status: 409,
  method,
  path,
  headers: { 'idempotency-key': SPENT_KEY },
  ...(body === undefined ? {} : { body }),
});

/**
 * The requests that exercise each operation: its successes and its errors. The document's own list
 * of operations must equal the keys of this table, so a new route cannot go without a case.
 */
const cases: Record<string, () => Promise<Exchange[]>> = {
  'POST /v3/rest/feedback-sources': async () => {
    const path = `${REST_PREFIX}/feedback-sources`;
    return [
      { what: 'every field', status: 201, method: 'POST', path, body: { name: 'Typeform NPS', type: 'survey', description: 'Quarterly NPS' } },
      { what: 'only a name', status: 201, method: 'POST', path, body: { name: 'Only a name' } },
      { what: 'an empty name', status: 400, method: 'POST', path, body: { name: '' } },
      { what: 'two failing fields', status: 400, method: 'POST', path, body: { name: 1, colour: 'red' } },
      { what: 'malformed JSON', status: 400, method: 'POST', path, rawBody: '{"name": ' },
      { what: 'a name already used', status: 409, method: 'POST', path, body: { name: 'Typeform NPS' } },
      unauthenticated('POST', path),
      { what: 'a token without sources:write', status: 403, method: 'POST', path, token: peopleOnly, body: { name: 'Forbidden' } },
      reusedKey('POST', path, { name: 'Another body' }),
    ];
  },
  'GET /v3/rest/feedback-sources': async () => {
    const path = `${REST_PREFIX}/feedback-sources`;
    await createdId('/feedback-sources', { name: 'Listed first' });
    await createdId('/feedback-sources', { name: 'Listed second' });
    const first = JSON.parse((await call({ method: 'GET', path, query: { limit: '1' } })).text) as { next_cursor: string };
    return [
      { what: 'the first page', status: 200, method: 'GET', path },
      { what: 'a page of one', status: 200, method: 'GET', path, query: { limit: '1' } },
      { what: 'the next page', status: 200, method: 'GET', path, query: { limit: '1', cursor: first.next_cursor } },
      { what: 'a name filter', status: 200, method: 'GET', path, query: { name: 'Listed first' } },
      { what: 'limit=0', status: 400, method: 'GET', path, query: { limit: '0' } },
      { what: 'a cursor it never gave', status: 400, method: 'GET', path, query: { cursor: 'garbage' } },
      { what: 'an unknown query key', status: 400, method: 'GET', path, query: { colour: 'red' } },
      unauthenticated('GET', path),
      { what: 'a token without sources:read', status: 403, method: 'GET', path, token: peopleOnly },
    ];
  },
  'GET /v3/rest/feedback-sources/{id}': async () => {
    const id = await createdId('/feedback-sources', { name: 'Read one', type: 'chat', description: 'Intercom' });
    return [
      { what: 'an existing source', status: 200, method: 'GET', path: sourcePath(id) },
      { what: 'the id abc', status: 400, method: 'GET', path: sourcePath('abc') },
      { what: 'an unknown id', status: 404, method: 'GET', path: sourcePath(987654) },
      unauthenticated('GET', sourcePath(id)),
      { what: 'a token without sources:read', status: 403, method: 'GET', path: sourcePath(id), token: peopleOnly },
    ];
  },
  'PATCH /v3/rest/feedback-sources/{id}': async () => {
    const id = await createdId('/feedback-sources', { name: 'Patched', description: 'Before' });
    await createdId('/feedback-sources', { name: 'Name in use' });
    return [
      { what: 'a new name and type', status: 200, method: 'PATCH', path: sourcePath(id), body: { name: 'Patched again', type: 'chat' } },
      { what: 'a cleared description', status: 200, method: 'PATCH', path: sourcePath(id), body: { description: null } },
      { what: 'an invalid type', status: 400, method: 'PATCH', path: sourcePath(id), body: { type: 'Not Valid' } },
      { what: 'the id abc', status: 400, method: 'PATCH', path: sourcePath('abc'), body: { name: 'x' } },
      { what: 'an unknown id', status: 404, method: 'PATCH', path: sourcePath(987654), body: { name: 'Nowhere' } },
      { what: 'a name already used', status: 409, method: 'PATCH', path: sourcePath(id), body: { name: 'Name in use' } },
      unauthenticated('PATCH', sourcePath(id)),
      { what: 'a token without sources:write', status: 403, method: 'PATCH', path: sourcePath(id), token: peopleOnly, body: { name: 'Forbidden' } },
      reusedKey('PATCH', sourcePath(id), { name: 'Another body' }),
    ];
  },
  'DELETE /v3/rest/feedback-sources/{id}': async () => {
    const empty = await createdId('/feedback-sources', { name: 'Deleted empty' });
    const full = await createdId('/feedback-sources', { name: 'Deleted with records' });
    await createdId(`/feedback-sources/${full}/records`, { fields: [textField('Keeps the source')] });
    return [
      { what: 'a source with records', status: 409, method: 'DELETE', path: sourcePath(full) },
      { what: 'cascade=yes', status: 400, method: 'DELETE', path: sourcePath(full), query: { cascade: 'yes' } },
      reusedKey('DELETE', sourcePath(full)),
      { what: 'an empty source', status: 200, method: 'DELETE', path: sourcePath(empty) },
      { what: 'a source with records and cascade=true', status: 200, method: 'DELETE', path: sourcePath(full), query: { cascade: 'true' } },
      { what: 'the id abc', status: 400, method: 'DELETE', path: sourcePath('abc') },
      { what: 'a deleted source', status: 404, method: 'DELETE', path: sourcePath(empty) },
      unauthenticated('DELETE', sourcePath(987654)),
      { what: 'a token without sources:write', status: 403, method: 'DELETE', path: sourcePath(987654), token: peopleOnly },
    ];
  },
  'PUT /v3/rest/people': async () => {
    const path = `${REST_PREFIX}/people`;
    const maria = {
      email: 'maria.garcia@northwind.example',
      first_name: 'María',
      last_name: 'García',
      phone: '+34912345678',
      boundary: 'external',
      company: { name: 'Northwind Traders', domain: 'northwind.example' },
    };
    return [
      { what: 'a new person with a company', status: 201, method: 'PUT', path, body: maria },
      { what: 'the same email again', status: 200, method: 'PUT', path, body: { email: 'MARIA.GARCIA@northwind.example', last_name: 'García López' } },
      { what: 'only an external_id', status: 201, method: 'PUT', path, body: { external_id: 'crm-1' } },
      { what: 'an unlinked company', status: 200, method: 'PUT', path, body: { external_id: 'crm-1', company: null, boundary: 'internal' } },
      { what: 'a phone with spaces', status: 400, method: 'PUT', path, body: { email: 'someone@example.com', phone: '+1 (415) 555-0123' } },
      { what: 'neither external_id nor email', status: 400, method: 'PUT', path, body: { first_name: 'Nobody' } },
      { what: "another person's email", status: 409, method: 'PUT', path, body: { external_id: 'crm-2', email: 'taken@example.com' } },
      unauthenticated('PUT', path),
      { what: 'a token without people:write', status: 403, method: 'PUT', path, token: sourcesOnly, body: { email: 'forbidden@example.com' } },
      reusedKey('PUT', path, { email: 'reused@example.com' }),
    ];
  },
  'GET /v3/rest/people': async () => {
    const path = `${REST_PREFIX}/people`;
    return [
      { what: 'the first page', status: 200, method: 'GET', path },
      { what: 'an email filter', status: 200, method: 'GET', path, query: { email: 'TAKEN@example.com', limit: '5' } },
      { what: 'limit=101', status: 400, method: 'GET', path, query: { limit: '101' } },
      { what: 'two unknown query keys', status: 400, method: 'GET', path, query: { colour: 'red', size: 'xl' } },
      unauthenticated('GET', path),
      { what: 'a token without people:read', status: 403, method: 'GET', path, token: sourcesOnly },
    ];
  },
  'GET /v3/rest/people/{id}': async () => {
    const withCompany = await createdId('/people', { email: 'read.one@example.com', company: { name: 'Globex' } }, 'PUT');
    const without = await createdId('/people', { external_id: 'read-two' }, 'PUT');
    return [
      { what: 'a person with a company', status: 200, method: 'GET', path: `${REST_PREFIX}/people/${withCompany}` },
      { what: 'a person without a company', status: 200, method: 'GET', path: `${REST_PREFIX}/people/${without}` },
      { what: 'the id abc', status: 400, method: 'GET', path: `${REST_PREFIX}/people/abc` },
      { what: 'an unknown id', status: 404, method: 'GET', path: `${REST_PREFIX}/people/987654` },
      unauthenticated('GET', `${REST_PREFIX}/people/${without}`),
      { what: 'a token without people:read', status: 403, method: 'GET', path: `${REST_PREFIX}/people/${without}`, token: sourcesOnly },
    ];
  },
  'DELETE /v3/rest/people/{id}': async () => {
    const id = await createdId('/people', { email: 'deleted@example.com' }, 'PUT');
    return [
      reusedKey('DELETE', `${REST_PREFIX}/people/${id}`),
      { what: 'a person', status: 200, method: 'DELETE', path: `${REST_PREFIX}/people/${id}` },
      { what: 'a deleted person', status: 404, method: 'DELETE', path: `${REST_PREFIX}/people/${id}` },
      { what: 'the id 0', status: 400, method: 'DELETE', path: `${REST_PREFIX}/people/0` },
      { what: 'a malformed JSON body', status: 400, method: 'DELETE', path: `${REST_PREFIX}/people/${id}`, rawBody: '{"reason": ' },
      unauthenticated('DELETE', `${REST_PREFIX}/people/987654`),
      { what: 'a token without people:write', status: 403, method: 'DELETE', path: `${REST_PREFIX}/people/987654`, token: sourcesOnly },
    ];
  },
  'POST /v3/rest/feedback-sources/{id}/records': async () => {
    const source = await createdId('/feedback-sources', { name: 'Ingested into' });
    const person = await createdId('/people', { email: 'ingest.person@example.com' }, 'PUT');
    const everyType = [
      { category: 'content', type: 'string', name: 'subject', value: 'Export to CSV times out for large workspaces' },
      { category: 'metadata', type: 'json', name: 'tags', value: ['export', 'performance'] },
      { category: 'metadata', type: 'boolean', name: 'escalated', value: true },
      { category: 'metadata', type: 'integer', name: 'priority', value: 2 },
      { category: 'metadata', type: 'float', name: 'score', value: 4.5 },
      { category: 'created_at', type: 'datetime', name: 'opened_at', value: '2025-03-14T09:26:53+01:00' },
      { category: 'metadata', type: 'date', name: 'due', value: '2025-03-20' },
      { category: 'identifier', type: 'string', name: 'ticket', value: '48213' },
      { category: 'identity', type: 'string', name: 'agent', value: 'Sam' },
    ];
    return [
      { what: 'every field type', status: 201, method: 'POST', path: recordsPath(source), body: { person_id: person, external_id: 'zendesk-48213', display_ts: '2025-03-14T09:26:53Z', fields: everyType } },
      { what: 'only fields', status: 201, method: 'POST', path: recordsPath(source), body: { fields: [textField('Minimal')] } },
      { what: 'an external_id already ingested', status: 409, method: 'POST', path: recordsPath(source), body: { external_id: 'zendesk-48213', fields: [textField('Again')] } },
      { what: 'a value of the wrong type', status: 400, method: 'POST', path: recordsPath(source), body: { fields: [{ category: 'metadata', type: 'integer', name: 'n', value: '1' }] } },
      { what: 'several failing fields', status: 400, method: 'POST', path: recordsPath(source), body: { display_ts: 'yesterday', fields: [] } },
      { what: 'the source id abc', status: 400, method: 'POST', path: recordsPath('abc'), body: { fields: [textField('x')] } },
      { what: 'an unknown source', status: 404, method: 'POST', path: recordsPath(987654), body: { fields: [textField('x')] } },
      { what: 'an unknown person', status: 404, method: 'POST', path: recordsPath(source), body: { person_id: 987654, fields: [textField('x')] } },
      unauthenticated('POST', recordsPath(source)),
      { what: 'a token without records:write', status: 403, method: 'POST', path: recordsPath(source), token: sourcesOnly, body: { fields: [textField('x')] } },
      reusedKey('POST', recordsPath(source), { fields: [textField('Reused key')] }),
    ];
  },
  'POST /v3/rest/feedback-sources/{id}/records/batch': async () => {
    const source = await createdId('/feedback-sources', { name: 'Batch ingested into' });
    const path = `${recordsPath(source)}/batch`;
    const good = { external_id: 'batch-1', display_ts: '2025-03-14T09:26:53Z', fields: [textField('Batch one')] };
    return [
      { what: 'good and failing records', status: 200, method: 'POST', path, body: { records: [good, { person_id: 987654, fields: [textField('x')] }, { ...good }] } },
      { what: 'no records', status: 400, method: 'POST', path, body: { records: [] } },
      { what: 'an unknown key in a record', status: 400, method: 'POST', path, body: { records: [{ fields: [textField('x')], mood: 'sad' }] } },
      { what: 'an unknown source', status: 404, method: 'POST', path: `${recordsPath(987654)}/batch`, body: { records: [{ fields: [textField('x')] }] } },
      unauthenticated('POST', path),
      { what: 'a token without records:write', status: 403, method: 'POST', path, token: sourcesOnly, body: { records: [{ fields: [textField('x')] }] } },
      reusedKey('POST', path, { records: [{ fields: [textField('Reused key')] }] }),
    ];
  },
  'POST /v3/rest/webhooks': async () => {
    const path = `${REST_PREFIX}/webhooks`;
    return [
      { what: 'an endpoint for every source', status: 201, method: 'POST', path, body: { url: WEBHOOK_URL, event_types: ['feedback_record.created', 'feedback_record.deleted'] } },
      { what: 'a loopback URL', status: 400, method: 'POST', path, body: { url: 'https://127.0.0.1/hooks', event_types: ['feedback_record.created'] } },
      { what: 'an unknown event type', status: 400, method: 'POST', path, body: { url: WEBHOOK_URL, event_types: ['record.exploded'] } },
      { what: 'an unknown source', status: 404, method: 'POST', path, body: { url: WEBHOOK_URL, event_types: ['feedback_record.created'], source_ids: [987654] } },
      unauthenticated('POST', path),
      { what: 'a token without webhooks:write', status: 403, method: 'POST', path, token: peopleOnly, body: { url: WEBHOOK_URL, event_types: ['feedback_record.created'] } },
      reusedKey('POST', path, { url: WEBHOOK_URL, event_types: ['feedback_record.deleted'] }),
    ];
  },
  'GET /v3/rest/webhooks': async () => {
    const path = `${REST_PREFIX}/webhooks`;
    await webhookId();
    return [
      { what: 'the first page', status: 200, method: 'GET', path },
      { what: 'limit=0', status: 400, method: 'GET', path, query: { limit: '0' } },
      unauthenticated('GET', path),
      { what: 'a token without webhooks:read', status: 403, method: 'GET', path, token: peopleOnly },
    ];
  },
  'GET /v3/rest/webhooks/{id}': async () => {
    const id = await webhookId();
    return [
      { what: 'an endpoint', status: 200, method: 'GET', path: `${REST_PREFIX}/webhooks/${id}` },
      { what: 'the id abc', status: 400, method: 'GET', path: `${REST_PREFIX}/webhooks/abc` },
      { what: 'an unknown id', status: 404, method: 'GET', path: `${REST_PREFIX}/webhooks/987654` },
      unauthenticated('GET', `${REST_PREFIX}/webhooks/${id}`),
      { what: 'a token without webhooks:read', status: 403, method: 'GET', path: `${REST_PREFIX}/webhooks/${id}`, token: peopleOnly },
    ];
  },
  'PATCH /v3/rest/webhooks/{id}': async () => {
    const id = await webhookId();
    const path = `${REST_PREFIX}/webhooks/${id}`;
    return [
      { what: 'paused', status: 200, method: 'PATCH', path, body: { enabled: false, event_types: ['feedback_record.deleted'] } },
      { what: 'a private URL', status: 400, method: 'PATCH', path, body: { url: 'https://10.0.0.1/hooks' } },
      { what: 'an unknown id', status: 404, method: 'PATCH', path: `${REST_PREFIX}/webhooks/987654`, body: { enabled: false } },
      unauthenticated('PATCH', path),
      { what: 'a token without webhooks:write', status: 403, method: 'PATCH', path, token: peopleOnly, body: { enabled: false } },
      reusedKey('PATCH', path, { enabled: true }),
    ];
  },
  'DELETE /v3/rest/webhooks/{id}': async () => {
    const id = await webhookId();
    const path = `${REST_PREFIX}/webhooks/${id}`;
    return [
      reusedKey('DELETE', path),
      { what: 'an endpoint', status: 200, method: 'DELETE', path },
      { what: 'a deleted endpoint', status: 404, method: 'DELETE', path },
      unauthenticated('DELETE', path),
      { what: 'a token without webhooks:write', status: 403, method: 'DELETE', path: `${REST_PREFIX}/webhooks/987654`, token: peopleOnly },
    ];
  },
  'POST /v3/rest/webhooks/{id}/rotate-secret': async () => {
    const id = await webhookId();
    const path = `${REST_PREFIX}/webhooks/${id}/rotate-secret`;
    return [
      { what: 'an endpoint', status: 200, method: 'POST', path },
      { what: 'an unknown id', status: 404, method: 'POST', path: `${REST_PREFIX}/webhooks/987654/rotate-secret` },
      unauthenticated('POST', path),
      { what: 'a token without webhooks:write', status: 403, method: 'POST', path, token: peopleOnly },
      reusedKey('POST', path),
    ];
  },
  'GET /v3/rest/webhooks/{id}/events': async () => {
    const { id } = await webhookEvent();
    const path = `${REST_PREFIX}/webhooks/${id}/events`;
    return [
      { what: 'an endpoint\'s events', status: 200, method: 'GET', path },
      { what: 'an unknown endpoint', status: 404, method: 'GET', path: `${REST_PREFIX}/webhooks/987654/events` },
      { what: 'a cursor it never gave', status: 400, method: 'GET', path, query: { cursor: 'garbage' } },
      unauthenticated('GET', path),
      { what: 'a token without webhooks:read', status: 403, method: 'GET', path, token: peopleOnly },
    ];
  },
  'POST /v3/rest/webhooks/{id}/events/{event_id}/replay': async () => {
    const { id, eventId } = await webhookEvent();
    const path = `${REST_PREFIX}/webhooks/${id}/events/${eventId}/replay`;
    return [
      { what: 'a delivered event', status: 200, method: 'POST', path },
      { what: 'an unknown event', status: 404, method: 'POST', path: `${REST_PREFIX}/webhooks/${id}/events/msg_00000000000000000000000000000000/replay` },
      unauthenticated('POST', path),
      { what: 'a token without webhooks:write', status: 403, method: 'POST', path, token: peopleOnly },
      reusedKey('POST', path),
    ];
  },
  'GET /v3/rest/feedback-sources/{id}/records': async () => {
    const source = await createdId('/feedback-sources', { name: 'Listed records' });
    const person = await createdId('/people', { email: 'listed.records@example.com' }, 'PUT');
    await createdId(`/feedback-sources/${source}/records`, { person_id: person, display_ts: '2025-03-14T09:26:53Z', fields: [textField('One')] });
    await createdId(`/feedback-sources/${source}/records`, { display_ts: '2025-03-15T09:26:53Z', fields: [textField('Two')] });
    return [
      { what: 'every record', status: 200, method: 'GET', path: recordsPath(source) },
      { what: 'every filter', status: 200, method: 'GET', path: recordsPath(source), query: { person_id: String(person), since: '2025-03-01T00:00:00Z', until: '2025-04-01T00:00:00+02:00', limit: '1' } },
      { what: 'since without an offset', status: 400, method: 'GET', path: recordsPath(source), query: { since: '2025-01-01' } },
      { what: 'person_id=abc', status: 400, method: 'GET', path: recordsPath(source), query: { person_id: 'abc' } },
      { what: 'an unknown source', status: 404, method: 'GET', path: recordsPath(987654) },
      unauthenticated('GET', recordsPath(source)),
      { what: 'a token without records:read', status: 403, method: 'GET', path: recordsPath(source), token: sourcesOnly },
    ];
  },
  'GET /v3/rest/records': async () => {
    const source = await createdId('/feedback-sources', { name: 'Every source\'s records' });
    const nps = (value: unknown) => ({ category: 'metadata', type: 'integer', name: 'nps', value });
    await createdId(`/feedback-sources/${source}/records`, { fields: [nps(3), { category: 'metadata', type: 'json', name: 'tags', value: ['export'] }] });
    await createdId(`/feedback-sources/${source}/records`, { fields: [nps(9)] });
    const path = `${REST_PREFIX}/records`;
    return [
      { what: 'every record', status: 200, method: 'GET', path },
      { what: 'filtered, ordered and counted', status: 200, method: 'GET', path, query: { source_id: String(source), 'field[nps][lt]': '7', 'field[tags][contains]': '["export"]', order: '-created_at', include_total: 'true', limit: '1' } },
      { what: 'a bound that is no number, date or date-time', status: 400, method: 'GET', path, query: { 'field[nps][lt]': 'soon' } },
      { what: 'an unknown operator', status: 400, method: 'GET', path, query: { 'field[nps][near]': '7' } },
      { what: 'an unknown source', status: 404, method: 'GET', path, query: { source_id: '987654' } },
      unauthenticated('GET', path),
      { what: 'a token without records:read', status: 403, method: 'GET', path, token: sourcesOnly },
    ];
  },
  'GET /v3/rest/records/stats': async () => {
    const path = `${REST_PREFIX}/records/stats`;
    return [
      { what: 'one group of every record', status: 200, method: 'GET', path },
      { what: 'grouped by week and source with a value field', status: 200, method: 'GET', path, query: { period: 'week', group_by: 'source', value_field: 'nps', time_zone: 'Europe/Berlin', 'field[nps][gte]': '0' } },
      { what: 'grouped by a field\'s value', status: 200, method: 'GET', path, query: { group_by: 'company,person', group_field: 'plan' } },
      { what: 'an unknown time zone', status: 400, method: 'GET', path, query: { time_zone: 'Mars/Base' } },
      { what: 'an unknown grouping', status: 400, method: 'GET', path, query: { group_by: 'week' } },
      unauthenticated('GET', path),
      { what: 'a token without records:read', status: 403, method: 'GET', path, token: sourcesOnly },
    ];
  },
  'GET /v3/rest/feedback-sources/{id}/records/{record_id}': async () => {
    const source = await createdId('/feedback-sources', { name: 'Read record' });
    const other = await createdId('/feedback-sources', { name: 'Other source' });
    const record = await createdId(`/feedback-sources/${source}/records`, { external_id: 'read-me', fields: [textField('Read me')] });
    return [
      { what: 'a record', status: 200, method: 'GET', path: `${recordsPath(source)}/${record}` },
      { what: 'the record id abc', status: 400, method: 'GET', path: `${recordsPath(source)}/abc` },
      { what: 'a record of another source', status: 404, method: 'GET', path: `${recordsPath(other)}/${record}` },
      { what: 'an unknown source', status: 404, method: 'GET', path: `${recordsPath(987654)}/${record}` },
      unauthenticated('GET', `${recordsPath(source)}/${record}`),
      { what: 'a token without records:read', status: 403, method: 'GET', path: `${recordsPath(source)}/${record}`, token: sourcesOnly },
    ];
  },
  'DELETE /v3/rest/feedback-sources/{id}/records/{record_id}': async () => {
    const source = await createdId('/feedback-sources', { name: 'Deleted record' });
    const record = await createdId(`/feedback-sources/${source}/records`, { fields: [textField('Delete me')] });
    return [
      reusedKey('DELETE', `${recordsPath(source)}/${record}`),
      { what: 'a record', status: 200, method: 'DELETE', path: `${recordsPath(source)}/${record}` },
      { what: 'a deleted record', status: 404, method: 'DELETE', path: `${recordsPath(source)}/${record}` },
      { what: 'the record id 1.5', status: 400, method: 'DELETE', path: `${recordsPath(source)}/1.5` },
      unauthenticated('DELETE', `${recordsPath(source)}/${record}`),
      { what: 'a token without records:write', status: 403, method: 'DELETE', path: `${recordsPath(source)}/${record}`, token: sourcesOnly },
    ];
  },
  'GET /v3/rest/openapi.json': async () => [
    { what: 'the document', status: 200, method: 'GET', path: `${REST_PREFIX}/openapi.json`, token: null },
    oversizedHeaders(`${REST_PREFIX}/openapi.json`),
  ],
  'GET /healthz': async () => [{ what: 'a live process', status: 200, method: 'GET', path: '/healthz', token: null }, oversizedHeaders('/healthz')],
  'GET /readyz': async () => [{ what: 'a migrated, reachable database', status: 200, method: 'GET', path: '/readyz', token: null }, oversizedHeaders('/readyz')],
};

/** A component the document refers to with `$ref`, or the object itself. */
function resolved<T>(object: unknown): T {
  if (typeof object !== 'object' || object === null || !('$ref' in object) || typeof object.$ref !== 'string') return object as T;
  const found: unknown = object.$ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined), doc);
  if (found === undefined) throw new Error(`${object.$ref} does not resolve`);
  return found as T;
}

/** The error codes an error response of the document lists, e.g. "Error codes: [INVALID_ID](…/docs/errors#INVALID_ID), …". */
function listedCodes(description: string): string[] {
  return [...new Set(description.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g) ?? [])];
}

/** Every way a real response departs from the document, as readable lines; empty when it conforms. */
function departures(key: string, exchange: Exchange, reply: Reply): string[] {
  const [, template = ''] = key.split(' ');
  const operation = operations.get(key);
  if (!operation) return [`${key} is not documented`];
  const label = `${exchange.what} (${exchange.method} ${exchange.path}${exchange.query ? `?${new URLSearchParams(exchange.query)}` : ''})`;
  const problems: string[] = [];
  if (!matchesTemplate(template, exchange.path) || exchange.method !== key.split(' ')[0]) problems.push(`${label} is not an instance of ${key}`);
  if (reply.status !== exchange.status) problems.push(`${label}: expected ${exchange.status}, got ${reply.status} ${reply.text.slice(0, 300)}`);
  const status = String(reply.status);
  const response = operation.responses[status];
  if (!response) return [...problems, `${label}: status ${status} is not documented for ${key} (documented: ${Object.keys(operation.responses).join(', ')}); body ${reply.text.slice(0, 300)}`];
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const { required } = resolved<{ required?: boolean }>(header);
    if (required && !reply.headers.has(name)) problems.push(`${label}: the ${status} response lacks its required ${name} header`);
  }
  if (response.content) {
    const mediaType = (reply.contentType ?? '').split(';')[0]?.trim() ?? '';
    if (!response.content[mediaType]) return [...problems, `${label}: content type ${reply.contentType} is not documented for ${key} ${status}`];
    const [method = '', path = ''] = key.split(' ');
    const body: unknown = JSON.parse(reply.text);
    const errors = validator.errors(['paths', path, method.toLowerCase(), 'responses', status, 'content', mediaType, 'schema'], body);
    if (errors) problems.push(`${label}: the ${status} body does not match its schema: ${JSON.stringify(errors.slice(0, 5))}; body ${reply.text.slice(0, 300)}`);
    const code = (body as { error?: { code?: unknown } }).error?.code;
    if (reply.status >= 400 && typeof code === 'string' && !listedCodes(response.description).includes(code)) {
      problems.push(`${label}: error code ${code} is not among those documented for ${key} ${status}: ${response.description}`);
    }
  }
  return problems;
}

/** Every way an accepted request departs from what the document says the operation takes. */
function requestDepartures(key: string, exchange: Exchange): string[] {
  const operation = operations.get(key);
  if (!operation || exchange.status >= 300) return [];
  const [method = '', path = ''] = key.split(' ');
  const problems: string[] = [];
  const documented = new Set((operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name));
  for (const key of Object.keys(exchange.query ?? {})) {
    // `field[nps][lt]` is a key of the deepObject parameter `field`.
    const name = key.replace(/\[.*$/, '');
    if (!documented.has(name)) problems.push(`${exchange.what}: query parameter ${name} is accepted but not documented for ${key}`);
  }
  if (exchange.body !== undefined) {
    if (!operation.requestBody?.content['application/json']) return [...problems, `${exchange.what}: a JSON body is accepted but not documented for ${key}`];
    const errors = validator.errors(['paths', path, method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema'], exchange.body);
    if (errors) problems.push(`${exchange.what}: an accepted body does not match the documented request schema: ${JSON.stringify(errors.slice(0, 5))}`);
  }
  return problems;
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Conformance Corp');
  sourcesOnly = await server.createToken('Conformance Corp', { scopes: ['sources:read', 'sources:write'] });
  peopleOnly = await server.createToken('Conformance Corp', { scopes: ['people:read', 'people:write'] });
  const response = await send<OpenApiDocument>(server.url, { path: `${REST_PREFIX}/openapi.json` });
  doc = response.body;
  operations = operationsOf(doc);
  validator = new DocumentValidator(doc);
  const spent = await call({ method: 'POST', path: `${REST_PREFIX}/feedback-sources`, body: { name: 'Spent key' }, headers: { 'idempotency-key': SPENT_KEY } });
  expect(spent.status, spent.text).toBe(201);
  await createdId('/people', { external_id: 'crm-taken', email: 'taken@example.com' }, 'PUT');
});

afterAll(() => server.close());

describe('GET /v3/rest/openapi.json', () => {
  it('answers 200 application/json without a token', async () => {
    const response = await send(server.url, { path: `${REST_PREFIX}/openapi.json` });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json(;|$)/);
    expect(response.body).toEqual(doc);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const openApi = new Validator();
    const result = await openApi.validate(structuredClone(doc));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(openApi.version).toBe('3.1');
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
  });

  it('declares the x-api-token header as an apiKey security scheme', () => {
    const schemes = Object.entries(doc.components?.securitySchemes ?? {});
    const apiToken = schemes.filter(([, scheme]) => scheme.type === 'apiKey' && scheme.in === 'header' && scheme.name === 'x-api-token');
    expect(apiToken).toHaveLength(1);
  });

  it.each(SPEC_ROUTES)('requires the x-api-token scheme on %s', (route) => {
    const [name] = Object.entries(doc.components?.securitySchemes ?? {}).find(([, scheme]) => scheme.name === 'x-api-token') ?? [];
    const security = operations.get(route)?.security ?? doc.security ?? [];
    expect(security.map((requirement) => Object.keys(requirement))).toContainEqual([name]);
  });

  it.each(SPEC_ROUTES)('documents %s with an operationId', (route) => {
    expect(operations.get(route)?.operationId).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
  });

  it.each(restRoutes.map((route) => ({ key: operationKey(route.method, REST_PREFIX + route.path), operationId: route.operationId })))(
    'documents the mounted route $key as $operationId',
    ({ key, operationId }) => {
      expect(operations.get(key)?.operationId).toBe(operationId);
    },
  );

  it('gives every operation its own operationId', () => {
    const ids = [...operations.values()].map((operation) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(SPEC_ROUTES.filter((route) => WRITE_METHODS.has(route.split(' ')[0] ?? '')))('documents the optional Idempotency-Key header of %s', (route) => {
    const header = operations.get(route)?.parameters?.find((parameter) => parameter.in === 'header' && parameter.name.toLowerCase() === 'idempotency-key');
    expect(header).toMatchObject({ in: 'header' });
    expect(header?.required ?? false).toBe(false);
  });

  it('declares the Error component: the object of the SPEC §5 envelope, with every type and code', () => {
    const error = doc.components?.schemas?.Error as { required?: string[]; properties?: Record<string, { enum?: string[] }> };
    expect([...(error?.required ?? [])].sort()).toEqual(['code', 'doc_url', 'message', 'param', 'request_id', 'retryable', 'suggestion', 'type']);
    expect([...(error?.properties?.type?.enum ?? [])].sort()).toEqual(Object.keys(SPEC_ERROR_STATUSES).sort());
    expect(error?.properties?.code?.enum).toEqual(expect.arrayContaining(Object.values(SPEC_ERROR_CODES).flat()));
    expect(Object.keys(error?.properties ?? {})).toEqual(expect.arrayContaining(['errors', 'retry_after_seconds']));
  });

  it.each(SPEC_ROUTES)('narrows every error status of %s to its type and the codes it can answer, with an example', (route) => {
    const [method = '', path = ''] = route.split(' ');
    const responses = Object.entries(operations.get(route)?.responses ?? {}).filter(([status]) => Number(status) >= 400);
    expect(responses.map(([status]) => status)).toEqual(expect.arrayContaining(['400', '401', '403', '429', '500', '503']));
    for (const [status, response] of responses) {
      const media = response.content?.['application/json'];
      const envelope = media?.schema as { required?: string[]; properties?: { error?: { allOf?: unknown[]; properties?: { type?: { const?: string }; code?: { enum?: ErrorCode[] } } } } };
      expect(envelope?.required).toEqual(['error']);
      const error = envelope?.properties?.error;
      expect(error?.allOf).toEqual([{ $ref: '#/components/schemas/Error' }]);
      const type = error?.properties?.type?.const;
      expect(type && Object.hasOwn(SPEC_ERROR_STATUSES, type)).toBe(true);
      const codes = error?.properties?.code?.enum ?? [];
      expect(codes.length).toBeGreaterThan(0);
      for (const code of codes) {
        expect(errorCatalog[code].type).toBe(type);
        expect(specStatusOf(type as SpecErrorType, code), code).toBe(Number(status));
      }
      // Not per operation: an unknown route, and GraphQL's own refusals.
      expect(codes).not.toEqual(expect.arrayContaining(['ROUTE_NOT_FOUND']));
      expect(codes.filter((code) => code === 'INVALID_GRAPHQL_REQUEST' || code === 'QUERY_TOO_COMPLEX')).toEqual([]);
      const examples = Object.entries(media?.examples ?? {});
      expect(examples).toHaveLength(1);
      for (const [code, example] of examples) {
        expect(codes).toContain(code);
        expect(validator.errors(['paths', path, method.toLowerCase(), 'responses', status, 'content', 'application/json', 'schema'], example.value)).toBeNull();
        expect(example.value).toMatchObject({ error: { code, doc_url: `${PUBLIC_URL}/docs/errors#${code}` } });
      }
    }
  });

  it.each(SPEC_ROUTES.filter((route) => route.startsWith('GET ')))('lists no Idempotency-Key code for %s, which takes no key', (route) => {
    const codes = Object.values(operations.get(route)?.responses ?? {}).flatMap((response) => listedCodes(response.description));
    expect(codes.filter((code) => code.includes('IDEMPOTENCY'))).toEqual([]);
  });

  it.each(restRoutes.map((route) => ({ key: operationKey(route.method, REST_PREFIX + route.path), scope: route.scope })))(
    'requires the scope $scope on $key, through x-api-token or Bearer',
    ({ key, scope }) => {
      const schemes = Object.entries(doc.components?.securitySchemes ?? {});
      const apiKey = schemes.find(([, scheme]) => scheme.type === 'apiKey' && scheme.name === 'x-api-token')?.[0] ?? 'no apiKey scheme';
      const bearer = schemes.find(([, scheme]) => scheme.type === 'http' && scheme.scheme === 'bearer')?.[0] ?? 'no bearer scheme';
      expect(operations.get(key)?.security).toEqual([{ [apiKey]: [scope] }, { [bearer]: [scope] }]);
    },
  );

  it.each(['GET /v3/rest/openapi.json', 'GET /healthz', 'GET /readyz'])('needs no token for %s', (key) => {
    expect(operations.get(key)?.security).toEqual([]);
  });

  it('declares every tag it uses, with a description, and describes every operation', () => {
    const declared = new Map(((doc.tags ?? []) as { name: string; description?: string }[]).map((tag) => [tag.name, tag.description]));
    for (const [key, operation] of operations) {
      const { tags = [], description } = operation as { tags?: string[]; description?: string };
      expect(tags.length, key).toBeGreaterThan(0);
      for (const tag of tags) expect(declared.get(tag), `${key} ${tag}`).toMatch(/\w/);
      expect(description, key).toMatch(/\w/);
    }
  });

  it.each(SPEC_ROUTES)('documents X-Request-Id and correlation-id on every response of %s, and Location on its 201', (route) => {
    for (const [status, response] of Object.entries(operations.get(route)?.responses ?? {})) {
      expect(Object.keys(response.headers ?? {}), `${route} ${status}`).toEqual(expect.arrayContaining(['X-Request-Id', 'correlation-id', 'RateLimit-Limit']));
      if (status === '201') expect(response.headers?.Location).toEqual({ $ref: '#/components/headers/Location' });
      if (status === '429' || status === '503') expect(response.headers?.['Retry-After']).toEqual({ $ref: '#/components/headers/RetryAfter' });
    }
  });

  it.each(SPEC_ROUTES)('documents 503 SERVICE_OVERLOADED for %s, alone under its status, with Retry-After', (route) => {
    const response = operations.get(route)?.responses?.['503'];
    expect(listedCodes(response?.description ?? '')).toEqual(['SERVICE_OVERLOADED']);
    expect(response?.headers?.['Retry-After']).toEqual({ $ref: '#/components/headers/RetryAfter' });
  });

  it.each(['GET /v3/rest/openapi.json', 'GET /healthz', 'GET /readyz'])('lists no SERVICE_OVERLOADED for %s, which is never shed', (key) => {
    const codes = Object.values(operations.get(key)?.responses ?? {}).flatMap((response) => listedCodes(response.description));
    expect(codes).not.toContain('SERVICE_OVERLOADED');
  });

  it('documents 503 for GET /readyz, its answer when the database is unreachable', () => {
    expect(Object.keys(operations.get('GET /readyz')?.responses ?? {})).toContain('503');
  });
});

describe('responses conform to the document', () => {
  it('has a conformance case for every documented operation, and an operation for every case', () => {
    expect([...operations.keys()].sort()).toEqual(Object.keys(cases).sort());
  });

  it('finds a body that departs from its documented schema (the check can fail)', () => {
    const source = ['paths', '/v3/rest/feedback-sources/{id}', 'get', 'responses', '200', 'content', 'application/json', 'schema'];
    expect(validator.errors(source, { id: '1', name: 'Zendesk' })).not.toBeNull();
    const notFound = ['paths', '/v3/rest/feedback-sources/{id}', 'get', 'responses', '404', 'content', 'application/json', 'schema'];
    expect(validator.errors(notFound, { error: { type: 'not_found_error', code: 'NO_SUCH_CODE' } })).not.toBeNull();
  });

  it.each(Object.keys(cases))('%s: every real response is documented and matches its schema', async (key) => {
    const exchanges = await (cases[key] ?? (async () => []))();
    const problems: string[] = [];
    for (const exchange of exchanges) {
      const reply = await call(exchange);
      problems.push(...departures(key, exchange, reply), ...requestDepartures(key, exchange));
    }
    expect(problems).toEqual([]);
    const statuses = new Set(exchanges.map((exchange) => String(exchange.status)));
    const documented = Object.keys(operations.get(key)?.responses ?? {});
    // Each case gives every documented success, and at least one client error where the operation has any.
    expect([...statuses].filter((status) => status.startsWith('2')).sort()).toEqual(documented.filter((status) => status.startsWith('2')).sort());
    if (documented.some((status) => status.startsWith('4'))) expect([...statuses].some((status) => status.startsWith('4'))).toBe(true);
  });
});
