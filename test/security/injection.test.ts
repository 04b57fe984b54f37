import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/organizations/tokens.ts';
import { RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { keyOf, organizationSnapshot, rowCounts } from '../helpers/sql.ts';
import { countStatements } from '../helpers/sql-counter.ts';

// README "Security properties": values are stored verbatim (SQL and script payloads included);
// hostile input gets a 4xx, never a 500 or a half-written row. Every string field of every write,
// over REST and over GraphQL, read back both ways.

const PAYLOADS: [string, string][] = [
  ['an SQL statement terminator', "'; DROP TABLE feedback_record; --"],
  ['an always-true SQL condition', '" OR 1=1 --'],
  ['a backslash before a quote', "\\'; DELETE FROM person; --"],
  ['a PostgreSQL dollar quote', '$$; DROP TABLE company; $$'],
  ['a script tag', '<script>alert(1)</script>'],
  ['a template literal expression', `$${'{7*7}'}`],
  ['a mustache expression', '{{7*7}}'],
  ['a path traversal', '../../etc/passwd'],
  ['an encoded NUL', '%00'],
  ['unicode homoglyphs', 'Ζеndеsk Ѕuррort'],
  ['a right-to-left override', 'invoice\u202Efdp.exe'],
  ['a NoSQL operator', '{"$ne": null}'],
];

let server: TestServer;
/** The organization writing over REST, the one writing over GraphQL, and one that only watches. */
const tokens = { rest: '', graphql: '', bystander: '' };
/** Each writer's own source, into which records are ingested. */
const targets = { rest: '', graphql: '' };
let bystanderBefore: Record<string, unknown[]>;
/** Every SQL statement the writes below sent, to check how the values travelled. */
const writeStatements: string[] = [];

type Protocol = 'rest' | 'graphql';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function rest(method: string, path: string, token: string, json?: unknown, query?: Record<string, string>): Promise<Reply> {
  return await new RestClient(server.url, token).send<Record<string, unknown>>(method, path, { json, ...(query === undefined ? {} : { query }) });
}

async function graphql(query: string, variables: Record<string, unknown>, token: string): Promise<Record<string, unknown>> {
  const response = await server.graphql(query, variables, token);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  return response.body.data ?? {};
}

/** Runs a write, keeping the SQL it sent. */
async function write<T>(action: () => Promise<T>): Promise<T> {
  const { result, statements } = await countStatements(action);
  writeStatements.push(...statements);
  return result;
}

const ERROR = '__typename ... on Error { code param message }';
const SOURCE_FIELDS = 'id name type description';
const PERSON_FIELDS = 'id externalId email firstName lastName company { name domain }';
const RECORD_FIELDS = 'id externalId fields { category type name value }';

const fieldsOf = (payload: string) => [
  { category: 'content', type: 'string', name: payload, value: payload },
  { category: 'metadata', type: 'json', name: `${payload} json`, value: { [payload]: payload, list: [payload, 7, true, null] } },
];

/** Writes a source, a person and a record carrying `payload` in every string field, over one protocol. */
async function writeEverything(protocol: Protocol, payload: string, email: string): Promise<{ source: Record<string, unknown>; person: Record<string, unknown>; record: Record<string, unknown> }> {
  const token = tokens[protocol];
  if (protocol === 'rest') {
    const source = await write(() => rest('POST', '/feedback-sources', token, { name: payload, description: payload }));
    expect(source.status, JSON.stringify(source.body)).toBe(201);
    const person = await write(() => rest('PUT', '/people', token, { external_id: payload, email, first_name: payload, last_name: payload, company: { name: payload } }));
    expect(person.status, JSON.stringify(person.body)).toBe(201);
    const record = await write(() => rest('POST', `/feedback-sources/${targets.rest}/records`, token, { external_id: payload, fields: fieldsOf(payload) }));
    expect(record.status, JSON.stringify(record.body)).toBe(201);
    return { source: source.body, person: person.body, record: record.body };
  }
  const source = await write(() =>
    graphql(`mutation ($input: FeedbackSourceInput!) { createFeedbackSource(input: $input) { ${ERROR} ... on CreateFeedbackSourceSuccess { feedbackSource { ${SOURCE_FIELDS} } } } }`, { input: { name: payload, description: payload } }, token),
  );
  const person = await write(() =>
    graphql(
      `mutation ($input: UpsertPersonInput!) { upsertPerson(input: $input) { ${ERROR} ... on UpsertPersonSuccess { person { ${PERSON_FIELDS} } } } }`,
      { input: { externalId: payload, email, firstName: payload, lastName: payload, company: { name: payload } } },
      token,
    ),
  );
  const record = await write(() =>
    graphql(
      `mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { ${ERROR} ... on IngestRecordSuccess { record { ${RECORD_FIELDS} } } } }`,
      { sourceId: targets.graphql, input: { externalId: payload, fields: fieldsOf(payload) } },
      token,
    ),
  );
  const unwrap = (data: Record<string, unknown>, field: string, inner: string) => {
    const payloadOf = data[field] as Record<string, unknown>;
    expect(payloadOf.__typename, JSON.stringify(payloadOf)).not.toMatch(/Error$/);
    return payloadOf[inner] as Record<string, unknown>;
  };
  return { source: unwrap(source, 'createFeedbackSource', 'feedbackSource'), person: unwrap(person, 'upsertPerson', 'person'), record: unwrap(record, 'ingestRecord', 'record') };
}

beforeAll(async () => {
  server = await startTestServer();
  tokens.rest = await server.createToken('Injected over REST');
  tokens.graphql = await server.createToken('Injected over GraphQL');
  tokens.bystander = await server.createToken('Bystander');
  targets.rest = String((await rest('POST', '/feedback-sources', tokens.rest, { name: 'Zendesk Support Tickets' })).body.id);
  targets.graphql = String((await rest('POST', '/feedback-sources', tokens.graphql, { name: 'Zendesk Support Tickets' })).body.id);
  const bystanderSource = (await rest('POST', '/feedback-sources', tokens.bystander, { name: 'Intercom Chats', type: 'chat', description: 'Live chat' })).body.id;
  const bystanderPerson = (await rest('PUT', '/people', tokens.bystander, { email: 'ada@acme.example', first_name: 'Ada', company: { name: 'Acme', domain: 'acme.example' } })).body.id;
  await rest('POST', `/feedback-sources/${bystanderSource}/records`, tokens.bystander, { external_id: 'chat-1', person_id: bystanderPerson, fields: fieldsOf('Love it') });
  bystanderBefore = await organizationSnapshot(server.orm, (await keyOf(server.orm, hashToken(tokens.bystander))).organizationId);
});

afterAll(() => server?.close());

PAYLOADS.forEach(([what, payload], index) => {
  describe(`${what}: ${JSON.stringify(payload)}`, () => {
    const written: Partial<Record<Protocol, Awaited<ReturnType<typeof writeEverything>>>> = {};
    let countsBefore: Record<string, number>;

    beforeAll(async () => {
      countsBefore = await rowCounts(server.orm);
      for (const protocol of ['rest', 'graphql'] as const) written[protocol] = await writeEverything(protocol, payload, `writer${index}.${protocol}@example.com`);
    });

    for (const protocol of ['rest', 'graphql'] as const) {
      const by = protocol === 'rest' ? 'over REST' : 'over GraphQL';

      it(`is answered and read back verbatim as a source name and description written ${by}, over REST and GraphQL`, async () => {
        const id = String(written[protocol]?.source.id);
        const expected = { name: payload, type: 'api', description: payload };
        expect(written[protocol]?.source).toMatchObject(expected);
        expect((await rest('GET', `/feedback-sources/${id}`, tokens[protocol])).body).toMatchObject(expected);
        expect((await graphql(`query ($id: ID!) { feedbackSource(id: $id) { ${SOURCE_FIELDS} } }`, { id }, tokens[protocol])).feedbackSource).toEqual({ id, ...expected });
      });

      it(`is answered and read back verbatim in every text field of a person and the company name written ${by}, over REST and GraphQL`, async () => {
        const id = String(written[protocol]?.person.id);
        const email = `writer${index}.${protocol}@example.com`;
        const restPerson = { external_id: payload, email, first_name: payload, last_name: payload, company: { name: payload, domain: null } };
        const graphqlPerson = { id, externalId: payload, email, firstName: payload, lastName: payload, company: { name: payload, domain: null } };
        expect(written[protocol]?.person).toMatchObject(protocol === 'rest' ? restPerson : graphqlPerson);
        expect((await rest('GET', `/people/${id}`, tokens[protocol])).body).toMatchObject(restPerson);
        expect((await graphql(`query ($id: ID!) { person(id: $id) { ${PERSON_FIELDS} } }`, { id }, tokens[protocol])).person).toEqual(graphqlPerson);
      });

      it(`is answered and read back verbatim as a record external_id, field names, a string value and inside a json value written ${by}, over REST and GraphQL`, async () => {
        const id = String(written[protocol]?.record.id);
        const expected = { external_id: payload, fields: fieldsOf(payload) };
        expect(written[protocol]?.record).toMatchObject(protocol === 'rest' ? expected : { externalId: payload, fields: fieldsOf(payload) });
        expect((await rest('GET', `/feedback-sources/${targets[protocol]}/records/${id}`, tokens[protocol])).body).toMatchObject(expected);
        expect((await graphql(`query ($id: ID!) { record(id: $id) { ${RECORD_FIELDS} } }`, { id }, tokens[protocol])).record).toEqual({ id, externalId: payload, fields: fieldsOf(payload) });
      });
    }

    it('as a name filter finds exactly the source of that name', async () => {
      const response = await rest('GET', '/feedback-sources', tokens.rest, undefined, { name: payload });
      const page = response.body as { data: { id: number }[] };
      expect(page.data.map((source) => source.id)).toEqual([written.rest?.source.id]);
    });

    it('as an email filter finds no one and answers 200', async () => {
      const response = await rest('GET', '/people', tokens.rest, undefined, { email: payload });
      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { data: [], next_cursor: null } });
    });

    it('as an id in a REST path is refused with 400 INVALID_ID naming it', async () => {
      const reply = await rest('GET', `/feedback-sources/${encodeURIComponent(payload)}`, tokens.rest);
      expect({ status: reply.status, error: reply.body.error }).toMatchObject({ status: 400, error: { code: 'INVALID_ID', param: 'id' } });
    });

    const refusals: [string, () => Promise<Reply>, { code: string; param: string }][] = [
      ['a source type', () => rest('POST', '/feedback-sources', tokens.rest, { name: `typed ${index}`, type: payload }), { code: 'INVALID_FIELD_VALUE', param: 'type' }],
      ['a phone number', () => rest('PUT', '/people', tokens.rest, { email: `phone${index}@example.com`, phone: payload }), { code: 'INVALID_PHONE_NUMBER', param: 'phone' }],
      ['an email address', () => rest('PUT', '/people', tokens.rest, { email: payload }), { code: 'INVALID_EMAIL', param: 'email' }],
      ['a company domain', () => rest('PUT', '/people', tokens.rest, { email: `domain${index}@example.com`, company: { name: 'Acme', domain: payload } }), { code: 'INVALID_FIELD_VALUE', param: 'company.domain' }],
    ];
    for (const [field, send, expected] of refusals) {
      it(`as ${field} is refused with 400 ${expected.code} and writes nothing`, async () => {
        const before = await rowCounts(server.orm);
        const reply = await write(send);
        expect({ status: reply.status, error: reply.body.error }).toMatchObject({ status: 400, error: { type: 'validation_error', ...expected } });
        expect(await rowCounts(server.orm)).toEqual(before);
      });
    }

    it('adds exactly the source, person, company and record each organization wrote, and no other row', async () => {
      const after = await rowCounts(server.orm);
      const delta = Object.fromEntries(Object.entries(after).map(([table, count]) => [table, count - (countsBefore[table] ?? 0)]));
      expect(delta).toEqual({ feedback_source: 2, person: 2, company: 2, feedback_record: 2, idempotency_key: 0, api_key: 0, webhook_endpoint: 0, webhook_event: 0, webhook_delivery: 0, organization: 0 });
    });
  });
});

describe('after every payload', () => {
  it("leaves the bystander organization's rows as they were", async () => {
    expect(await organizationSnapshot(server.orm, (await keyOf(server.orm, hashToken(tokens.bystander))).organizationId)).toEqual(bystanderBefore);
  });

});
