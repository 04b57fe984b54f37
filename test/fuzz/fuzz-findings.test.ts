import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalog } from '../../src/errors/catalog.ts';
import { IdempotencyKey } from '../../src/idempotency/idempotency-key.entity.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { expectErrorEnvelope, type GraphQLBody, type HttpReply, PUBLIC_URL, send as sendHttp } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The minimal requests behind each failure the property-based fuzzing (rest.fuzz.test.ts,
// graphql.fuzz.test.ts) found, kept as plain contract tests.

let server: TestServer;
let token: string;
let sourceId: number;

function send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return sendHttp(server.url, {
    method,
    path,
    headers: { 'x-api-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body }),
  });
}

/** A GraphQL request sent as written, so that its JSON can hold what JSON.stringify never writes. */
function sendGraphQL(body: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return send('POST', '/graphql', body, { accept: 'application/graphql-response+json', ...headers });
}

const recordCount = () => server.orm.em.fork().count(FeedbackRecord, {});
const textField = { category: 'content', type: 'string', name: 'subject', value: 'Export times out' };
const DELETE_PERSON = 'mutation ($id: ID!) { deletePerson(id: $id) { __typename ... on Error { code message param } } }';

/** SPEC §9: an error outside a union is a GraphQL error whose extensions hold the §5 envelope, with the status of its type. */
function expectGraphQLValidationError(reply: HttpReply): Record<string, unknown> {
  expect(reply.status, reply.text).toBe(400);
  const body = JSON.parse(reply.text) as GraphQLBody<unknown>;
  const extensions = body.errors?.[0]?.extensions ?? {};
  const code = String(extensions.code);
  expect(extensions).toMatchObject({ type: 'validation_error', retryable: false, request_id: reply.headers.get('x-request-id'), doc_url: `${PUBLIC_URL}/docs/errors#${code}` });
  expect(Object.hasOwn(errorCatalog, code) && errorCatalog[code as keyof typeof errorCatalog].type).toBe('validation_error');
  return extensions;
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Fuzz Findings Corp');
  const reply = await send('POST', '/v3/rest/feedback-sources', JSON.stringify({ name: 'Zendesk Support Tickets' }));
  sourceId = (JSON.parse(reply.text) as { id: number }).id;
});

afterAll(() => server.close());

describe('POST /feedback-sources/{id}/records display_ts at the edges of the calendar', () => {
  it.each([
    { value: '9999-12-31T23:59:59-23:59', instant: 'in year 10000' },
    { value: '0000-01-01T00:00:00+01:00', instant: 'in year -1' },
  ])("answers 400 INVALID_FIELD_VALUE with param display_ts to display_ts '$value', an instant $instant, and writes nothing", async ({ value }) => {
    const before = await recordCount();
    const reply = await send('POST', `/v3/rest/feedback-sources/${sourceId}/records`, JSON.stringify({ display_ts: value, fields: [textField] }));
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'display_ts', message: value });
    expect(await recordCount()).toBe(before);
  });

  it("ingests display_ts '0000-01-01T00:00:00Z' as that instant, or refuses it with 400 INVALID_FIELD_VALUE naming display_ts, never with a server error", async () => {
    const before = await recordCount();
    const reply = await send('POST', `/v3/rest/feedback-sources/${sourceId}/records`, JSON.stringify({ display_ts: '0000-01-01T00:00:00Z', fields: [textField] }));
    if (reply.status === 201) {
      expect((JSON.parse(reply.text) as { display_ts: string }).display_ts).toBe('0000-01-01T00:00:00.000Z');
    } else {
      expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'display_ts' });
      expect(await recordCount()).toBe(before);
    }
  });

  it("answers ValidationError INVALID_FIELD_VALUE with param displayTs to ingestRecord with displayTs '9999-12-31T23:59:59-23:59', and writes nothing", async () => {
    const before = await recordCount();
    const query = 'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on Error { code param } } }';
    const reply = await sendGraphQL(JSON.stringify({ query, variables: { sourceId, input: { displayTs: '9999-12-31T23:59:59-23:59', fields: [textField] } } }));
    expect(reply.status, reply.text).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({ data: { ingestRecord: { __typename: 'ValidationError', code: 'INVALID_FIELD_VALUE', param: 'displayTs' } } });
    expect(await recordCount()).toBe(before);
  });
});

describe('POST /feedback-sources/{id}/records numbers past the float range', () => {
  it('answers 400 INVALID_FIELD_VALUE with param fields[0].value to a json value of 1e400, and writes nothing', async () => {
    const before = await recordCount();
    const reply = await send('POST', `/v3/rest/feedback-sources/${sourceId}/records`, '{"fields": [{"category": "metadata", "type": "json", "name": "score", "value": 1e400}]}');
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields[0].value' });
    expect(await recordCount()).toBe(before);
  });

  it('does not report a float value of 1e400 as null in the message of its INVALID_FIELD_VALUE', async () => {
    const reply = await send('POST', `/v3/rest/feedback-sources/${sourceId}/records`, '{"fields": [{"category": "metadata", "type": "float", "name": "score", "value": 1e400}]}');
    const error = expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'fields[0].value' });
    expect(error.message).not.toMatch(/got null/);
  });
});

describe('POST /feedback-sources/{id}/records person_id of the wrong JSON type', () => {
  it('answers 400 INVALID_ID with param person_id whose message says person_id must be a positive integer id', async () => {
    const reply = await send('POST', `/v3/rest/feedback-sources/${sourceId}/records`, JSON.stringify({ person_id: true, fields: [textField] }));
    const error = expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'person_id', message: 'true' });
    expect(error.message).toContain('positive integer id');
    expect(error.message).not.toContain('Invalid input');
  });
});

describe('REST paths the router cannot decode', () => {
  it.each(['%', '%zz', '%ED%A0%80', '%C0%AF'])(
    "answers 400 MALFORMED_REQUEST with param path in the SPEC §5 envelope, echoing X-Request-Id, to DELETE /feedback-sources/%s (malformed percent-encoding)",
    async (segment) => {
      const reply = await send('DELETE', `/v3/rest/feedback-sources/${segment}`, undefined, { 'x-request-id': 'fuzz-bad-url' });
      expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'MALFORMED_REQUEST', param: 'path' });
      expect(reply.headers.get('x-request-id')).toBe('fuzz-bad-url');
    },
  );

  it('answers 400 INVALID_ID with param id in the SPEC §5 envelope, echoing X-Request-Id, to an id of 101 digits', async () => {
    const reply = await send('DELETE', `/v3/rest/feedback-sources/${'1'.repeat(101)}`, undefined, { 'x-request-id': 'fuzz-long-id' });
    expectErrorEnvelope(reply, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id' });
    expect(reply.headers.get('x-request-id')).toBe('fuzz-long-id');
  });
});

describe('GraphQL requests refused before any resolver runs', () => {
  it('answers 400 with a validation_error GraphQL error carrying the SPEC §5 envelope when variables is a list', async () => {
    const reply = await sendGraphQL(`{"query": ${JSON.stringify(DELETE_PERSON)}, "variables": []}`);
    expectGraphQLValidationError(reply);
  });

  it('answers 400 with a validation_error GraphQL error carrying the SPEC §5 envelope when $id is 1.5, which ID cannot represent', async () => {
    const reply = await sendGraphQL(JSON.stringify({ query: DELETE_PERSON, variables: { id: 1.5 } }));
    expectGraphQLValidationError(reply);
  });

  it('answers 400 with a validation_error GraphQL error carrying the SPEC §5 envelope when the input of createFeedbackSource has an unknown field', async () => {
    const query = 'mutation ($input: FeedbackSourceInput!) { createFeedbackSource(input: $input) { __typename ... on Error { code } } }';
    const reply = await sendGraphQL(JSON.stringify({ query, variables: { input: { name: 'Zendesk', colour: 'red' } } }));
    expectGraphQLValidationError(reply);
  });

  it('answers 400 with a validation_error GraphQL error, not 500, and stores no key, to a mutation sent with an Idempotency-Key whose variables nest 100,000 levels deep', async () => {
    const keys = () => server.orm.em.fork().count(IdempotencyKey, {});
    const before = await keys();
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const reply = await sendGraphQL(`{"query": ${JSON.stringify(DELETE_PERSON)}, "variables": {"id": ${deep}}}`, { 'idempotency-key': 'fuzz-deep-variables' });
    expectGraphQLValidationError(reply);
    expect(await keys()).toBe(before);
  });
});
