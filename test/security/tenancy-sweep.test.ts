import { type GraphQLField, type GraphQLInputType, getNamedType, isInputObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encodeNodeId } from '../../src/graphql/node-ids.ts';
import { schema } from '../../src/graphql/schema.ts';
import { hashToken } from '../../src/organizations/tokens.ts';
import type { RestRoute } from '../../src/rest/route.ts';
import { restRoutes } from '../../src/rest/routes.ts';
import { RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { keyOf, organizationSnapshot, rows } from '../helpers/sql.ts';
import { countStatements } from '../helpers/sql-counter.ts';

// SPEC §1, §10 and the README's security properties: another organization's ids answer exactly like
// ids that never existed, with the same SQL work. Every REST route and every GraphQL query and
// mutation field is swept from the route table and the schema, so a new one fails here until the
// tables below say how to call it.

let server: TestServer;
let tokenA: string;
let tokenB: string;
let orgB: string;
let apiKeyB: string;
let snapshotBefore: Record<string, unknown[]>;

/** Valid ids that no row of any table has. */
const NEVER = '9876543210';

/** Every value of A that B's creates do not reuse carries this, so any of it in an answer to B is a leak. */
const MARKER = 'A-ONLY';

/** A's unique keys, reused by B's creates: uniqueness is per organization, so B gets rows of its own. */
const A_KEYS = {
  rest: { sourceName: 'Zendesk Support Tickets', email: 'ada@acme.example', externalId: 'crm-0001', domain: 'acme.example' },
  graphql: { sourceName: 'NPS Survey', email: 'grace@initech.example', externalId: 'crm-0002', domain: 'initech.example' },
};

type Owner = 'source' | 'person' | 'company' | 'record' | 'webhook' | 'webhookEvent';

/** What A owns (the source, person and record the probes aim at) and what B owns. */
const a = { source: '', person: '', company: '', record: '', webhook: '', webhookEvent: '' };
const b = { source: '', person: '', company: '', record: '', webhook: '', webhookEvent: '' };

const subject = (text: string) => [{ category: 'content', type: 'string', name: 'subject', value: text }];

// ---------------------------------------------------------------------------------------------
// Sending and comparing

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

interface RestCall {
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

async function sendRest(method: string, call: RestCall, token: string, idempotencyKey?: string): Promise<Answer> {
  return await new RestClient(server.url, token).send(method, call.path, {
    json: call.body,
    ...(call.query === undefined ? {} : { query: call.query }),
    ...(idempotencyKey === undefined ? {} : { key: idempotencyKey }),
  });
}

async function sendGraphQL(query: string, variables: Record<string, unknown>, token: string, idempotencyKey?: string): Promise<Answer> {
  return await server.graphql(query, variables, token, idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey });
}

const NODE_TYPES = ['Organization', 'FeedbackSource', 'Person', 'Company', 'FeedbackRecord'];

/**
 * An answer with what must differ taken out: request ids, and the requested id where a message
 * quotes it (as itself, or as the nodeId of that id). Headers are compared by name (their lengths
 * follow the id's length).
 */
function comparable(answer: Answer, id: string): unknown {
  const nodeIdsOfId = NODE_TYPES.map((type) => encodeNodeId(type, id));
  const scrub = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(scrub);
    if (typeof value === 'string') return nodeIdsOfId.reduce((text, nodeId) => text.replaceAll(nodeId, '<id>'), value.replace(new RegExp(`\\b${id}\\b`, 'g'), '<id>'));
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, key === 'requestId' || key === 'request_id' ? '<request id>' : scrub(item)]));
  };
  const headerNames = [...answer.headers.keys()].filter((name) => name !== 'date' && name !== 'content-length').sort();
  return { status: answer.status, contentType: answer.headers.get('content-type'), headerNames, body: scrub(answer.body) };
}

function expectNoMarker(answer: Answer): void {
  expect(JSON.stringify(answer.body)).not.toContain(MARKER);
}

async function idsOfB(owner: Owner): Promise<string[]> {
  const table = { source: 'feedback_source', person: 'person', record: 'feedback_record', company: 'company', webhook: 'webhook_endpoint', webhookEvent: 'webhook_event' }[owner];
  const found = await rows<{ id: string }>(server.orm, `select "id" from "${table}" where "organization_id" = ? order by "id"`, [orgB]);
  return found.map((row) => String(row.id));
}

const aIdOf = (owner: Owner) => a[owner];

/** Idempotency-Keys A used for writes (SPEC §7: keys belong to the organization). */
const A_IDEMPOTENCY_KEYS = { rest: 'acme-key-rest', graphql: 'acme-key-graphql', counted: 'acme-key-counted' };
const SHARED_KEY_SOURCES = { rest: { name: 'Created with a shared key over REST' }, graphql: { name: 'Created with a shared key over GraphQL' } };
const CREATE_SOURCE = 'mutation ($input: FeedbackSourceInput!) { createFeedbackSource(input: $input) { __typename ... on CreateFeedbackSourceSuccess { feedbackSource { id name } } } }';

// ---------------------------------------------------------------------------------------------
// Which ids a route or field takes, read from the route table and the schema

// external_id is the client's own key for a row, not a row id: B's creates reuse A's (see A_KEYS).
const isIdName = (name: string) => name === 'id' || (name.endsWith('_id') && name !== 'external_id');

function restIdArguments(route: RestRoute): string[] {
  const body = route.body instanceof z.ZodObject ? Object.keys(route.body.shape) : [];
  return [
    ...Object.keys(route.params ?? {}).map((name) => `path.${name}`),
    ...Object.keys(route.query ?? {})
      .filter(isIdName)
      .map((name) => `query.${name}`),
    ...body.filter(isIdName).map((name) => `body.${name}`),
  ].sort();
}

function graphqlIdArguments(field: GraphQLField<unknown, unknown>): string[] {
  const paths: string[] = [];
  const visit = (type: GraphQLInputType, path: string, seen: readonly string[]) => {
    const named = getNamedType(type);
    if (named.name === 'ID') paths.push(path);
    else if (isInputObjectType(named) && !seen.includes(named.name)) {
      for (const [name, inner] of Object.entries(named.getFields())) visit(inner.type, `${path}.${name}`, [...seen, named.name]);
    }
  };
  for (const arg of field.args) visit(arg.type, arg.name, []);
  return paths.sort();
}

// ---------------------------------------------------------------------------------------------
// The tables: how to call each route and field

interface RestProbe {
  /** Where the id goes: `path.id`, `query.person_id`, `body.person_id`. */
  arg: string;
  owner: Owner;
  call: (id: string) => RestCall;
  expected: { code: string; param: string };
}

interface RestEntry {
  probes: RestProbe[];
  /** For a route that takes no id: a call with A's keys, and what B must get instead of A's data. */
  withoutId?: { call: () => RestCall; check: (answer: Answer) => Promise<void> };
}

const sourceNotFound = (param: string) => ({ code: 'FEEDBACK_SOURCE_NOT_FOUND', param });
const personNotFound = (param: string) => ({ code: 'PERSON_NOT_FOUND', param });
const recordNotFound = (param: string) => ({ code: 'RECORD_NOT_FOUND', param });
const webhookNotFound = (param: string) => ({ code: 'WEBHOOK_ENDPOINT_NOT_FOUND', param });
const webhookEventNotFound = (param: string) => ({ code: 'WEBHOOK_EVENT_NOT_FOUND', param });
/** A public address as a literal; these endpoints only hear of disabled endpoints, so nothing is delivered. */
const WEBHOOK_URL = 'https://93.184.215.14/hooks';
const WEBHOOK = { url: WEBHOOK_URL, event_types: ['webhook_endpoint.disabled'] };

async function expectOnlyB(owner: Owner, ids: string[]): Promise<void> {
  const own = await idsOfB(owner);
  expect(ids.filter((id) => !own.includes(id))).toEqual([]);
}

const REST_SWEEP: Record<string, RestEntry> = {
  'POST /feedback-sources': {
    probes: [],
    withoutId: {
      call: () => ({ path: '/feedback-sources', body: { name: A_KEYS.rest.sourceName, type: 'chat', description: 'Globex chats' } }),
      check: async (answer) => {
        expect(answer.status).toBe(201);
        const source = answer.body as { id: number; record_count: number };
        expect(source.record_count).toBe(0);
        await expectOnlyB('source', [String(source.id)]);
      },
    },
  },
  'GET /feedback-sources': {
    probes: [],
    withoutId: {
      call: () => ({ path: '/feedback-sources', query: { name: A_KEYS.rest.sourceName, limit: '100' } }),
      check: async (answer) => {
        expect(answer.status).toBe(200);
        await expectOnlyB('source', (answer.body as { data: { id: number }[] }).data.map((source) => String(source.id)));
      },
    },
  },
  'GET /feedback-sources/{id}': { probes: [{ arg: 'path.id', owner: 'source', call: (id) => ({ path: `/feedback-sources/${id}` }), expected: sourceNotFound('id') }] },
  'PATCH /feedback-sources/{id}': {
    probes: [{ arg: 'path.id', owner: 'source', call: (id) => ({ path: `/feedback-sources/${id}`, body: { description: 'changed by Globex' } }), expected: sourceNotFound('id') }],
  },
  'DELETE /feedback-sources/{id}': {
    probes: [{ arg: 'path.id', owner: 'source', call: (id) => ({ path: `/feedback-sources/${id}`, query: { cascade: 'true' } }), expected: sourceNotFound('id') }],
  },
  'PUT /people': {
    probes: [],
    withoutId: {
      call: () => ({ path: '/people', body: { email: A_KEYS.rest.email, external_id: A_KEYS.rest.externalId, company: { name: 'Globex Corp', domain: A_KEYS.rest.domain } } }),
      check: async (answer) => {
        expect(answer.status).toBe(201);
        const person = answer.body as { id: number; company_id: number; first_name: string | null };
        expect(person.first_name).toBeNull();
        await expectOnlyB('person', [String(person.id)]);
        expect(await idsOfB('company')).toContain(String(person.company_id));
      },
    },
  },
  'GET /people': {
    probes: [],
    withoutId: {
      call: () => ({ path: '/people', query: { email: A_KEYS.rest.email, limit: '100' } }),
      check: async (answer) => {
        expect(answer.status).toBe(200);
        await expectOnlyB('person', (answer.body as { data: { id: number }[] }).data.map((person) => String(person.id)));
      },
    },
  },
  'GET /people/{id}': { probes: [{ arg: 'path.id', owner: 'person', call: (id) => ({ path: `/people/${id}` }), expected: personNotFound('id') }] },
  'DELETE /people/{id}': { probes: [{ arg: 'path.id', owner: 'person', call: (id) => ({ path: `/people/${id}` }), expected: personNotFound('id') }] },
  'POST /feedback-sources/{id}/records': {
    probes: [
      { arg: 'path.id', owner: 'source', call: (id) => ({ path: `/feedback-sources/${id}/records`, body: { fields: subject('Written by Globex') } }), expected: sourceNotFound('id') },
      {
        arg: 'body.person_id',
        owner: 'person',
        call: (id) => ({ path: `/feedback-sources/${b.source}/records`, body: { person_id: Number(id), fields: subject('Written by Globex') } }),
        expected: personNotFound('person_id'),
      },
    ],
  },
  'POST /webhooks': {
    probes: [],
    withoutId: {
      call: () => ({ path: '/webhooks', body: WEBHOOK }),
      check: async (answer) => {
        expect(answer.status).toBe(201);
        await expectOnlyB('webhook', [String((answer.body as { id: number }).id)]);
      },
    },
  },
  'GET /webhooks': {
    probes: [],
    withoutId: {
      call: () => ({ path: '/webhooks', query: { limit: '100' } }),
      check: async (answer) => {
        expect(answer.status).toBe(200);
        await expectOnlyB('webhook', (answer.body as { data: { id: number }[] }).data.map((endpoint) => String(endpoint.id)));
      },
    },
  },
  'GET /webhooks/{id}': { probes: [{ arg: 'path.id', owner: 'webhook', call: (id) => ({ path: `/webhooks/${id}` }), expected: webhookNotFound('id') }] },
  'PATCH /webhooks/{id}': { probes: [{ arg: 'path.id', owner: 'webhook', call: (id) => ({ path: `/webhooks/${id}`, body: { enabled: false } }), expected: webhookNotFound('id') }] },
  'DELETE /webhooks/{id}': { probes: [{ arg: 'path.id', owner: 'webhook', call: (id) => ({ path: `/webhooks/${id}` }), expected: webhookNotFound('id') }] },
  'POST /webhooks/{id}/rotate-secret': { probes: [{ arg: 'path.id', owner: 'webhook', call: (id) => ({ path: `/webhooks/${id}/rotate-secret` }), expected: webhookNotFound('id') }] },
  'GET /webhooks/{id}/events': { probes: [{ arg: 'path.id', owner: 'webhook', call: (id) => ({ path: `/webhooks/${id}/events` }), expected: webhookNotFound('id') }] },
  'POST /webhooks/{id}/events/{event_id}/replay': {
    probes: [
      { arg: 'path.id', owner: 'webhook', call: (id) => ({ path: `/webhooks/${id}/events/${b.webhookEvent}/replay` }), expected: webhookEventNotFound('event_id') },
      { arg: 'path.event_id', owner: 'webhookEvent', call: (id) => ({ path: `/webhooks/${b.webhook}/events/${id}/replay` }), expected: webhookEventNotFound('event_id') },
    ],
  },
  'POST /feedback-sources/{id}/records/batch': {
    probes: [
      {
        arg: 'path.id',
        owner: 'source',
        call: (id) => ({ path: `/feedback-sources/${id}/records/batch`, body: { records: [{ fields: subject('Written by Globex') }] } }),
        expected: sourceNotFound('id'),
      },
    ],
  },
  'GET /feedback-sources/{id}/records': {
    probes: [
      { arg: 'path.id', owner: 'source', call: (id) => ({ path: `/feedback-sources/${id}/records` }), expected: sourceNotFound('id') },
      { arg: 'query.person_id', owner: 'person', call: (id) => ({ path: `/feedback-sources/${b.source}/records`, query: { person_id: id } }), expected: personNotFound('person_id') },
    ],
  },
  'GET /records': {
    probes: [
      { arg: 'query.source_id', owner: 'source', call: (id) => ({ path: '/records', query: { source_id: id } }), expected: sourceNotFound('source_id') },
      { arg: 'query.person_id', owner: 'person', call: (id) => ({ path: '/records', query: { person_id: id } }), expected: personNotFound('person_id') },
    ],
  },
  'GET /records/stats': {
    probes: [
      { arg: 'query.source_id', owner: 'source', call: (id) => ({ path: '/records/stats', query: { source_id: id } }), expected: sourceNotFound('source_id') },
      { arg: 'query.person_id', owner: 'person', call: (id) => ({ path: '/records/stats', query: { person_id: id } }), expected: personNotFound('person_id') },
    ],
  },
  'GET /feedback-sources/{id}/records/{record_id}': {
    probes: [
      { arg: 'path.id', owner: 'source', call: (id) => ({ path: `/feedback-sources/${id}/records/${b.record}` }), expected: sourceNotFound('id') },
      { arg: 'path.record_id', owner: 'record', call: (id) => ({ path: `/feedback-sources/${b.source}/records/${id}` }), expected: recordNotFound('record_id') },
    ],
  },
  'DELETE /feedback-sources/{id}/records/{record_id}': {
    probes: [
      { arg: 'path.id', owner: 'source', call: (id) => ({ path: `/feedback-sources/${id}/records/${b.record}` }), expected: sourceNotFound('id') },
      { arg: 'path.record_id', owner: 'record', call: (id) => ({ path: `/feedback-sources/${b.source}/records/${id}` }), expected: recordNotFound('record_id') },
    ],
  },
};

interface GraphQLProbe {
  /** The ID argument, as a path through input objects: `sourceId`, `input.personId`. */
  arg: string;
  owner: Owner;
  variables: (id: string) => Record<string, unknown>;
  /** The whole answer for an id B cannot see, request ids and messages aside. */
  expected: Record<string, unknown>;
}

interface GraphQLEntry {
  query: string;
  probes: GraphQLProbe[];
  withoutId?: { variables: () => Record<string, unknown>; check: (answer: Answer) => Promise<void> };
}

const ERROR = '__typename ... on Error { type code message retryable requestId docUrl param suggestion }';

/** A query field answering null plus one not_found_error. */
const missingField = (field: string, found: { code: string; param: string }) => ({
  data: { [field]: null },
  errors: [{ message: expect.any(String), extensions: { type: 'not_found_error', ...found } }],
});
const notFoundPayload = (field: string, found: { code: string; param: string }) => ({ data: { [field]: { __typename: 'NotFoundError', type: 'not_found_error', ...found } } });

type Data = Record<string, unknown>;
const dataOf = (answer: Answer) => {
  const body = answer.body as { data?: Data; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data ?? {};
};
const nodeIds = (connection: unknown) => (connection as { edges: { node: { id: string } }[] }).edges.map((edge) => edge.node.id);

/** Probes of the id filters of a records filter: each of A's ids matches nothing, as one that never existed. */
function filterProbes(field: string, empty: Record<string, unknown>): GraphQLProbe[] {
  return (['sourceId', 'personId', 'companyId'] as const).flatMap((key) => {
    const owner = ({ sourceId: 'source', personId: 'person', companyId: 'company' } as const)[key];
    return [
      { arg: `filter.${key}.eq`, owner, variables: (id: string) => ({ filter: { [key]: { eq: id } } }), expected: { data: { [field]: empty } } },
      { arg: `filter.${key}.in`, owner, variables: (id: string) => ({ filter: { [key]: { in: [id] } } }), expected: { data: { [field]: empty } } },
    ];
  });
}

const GRAPHQL_SWEEP: Record<string, GraphQLEntry> = {
  'Query.viewer': {
    query: '{ viewer { apiKeyId scopes organization { id name } } }',
    probes: [],
    withoutId: {
      variables: () => ({}),
      check: async (answer) => {
        const { viewer } = dataOf(answer) as { viewer: { apiKeyId: string; organization: { id: string; name: string } } };
        expect({ apiKeyId: viewer.apiKeyId, organization: viewer.organization }).toEqual({ apiKeyId: apiKeyB, organization: { id: orgB, name: 'Globex' } });
      },
    },
  },
  'Query.feedbackSources': {
    query: '{ feedbackSources(first: 100) { edges { node { id name description } } } }',
    probes: [],
    withoutId: {
      variables: () => ({}),
      check: async (answer) => expect(nodeIds(dataOf(answer).feedbackSources)).toEqual((await idsOfB('source')).reverse()),
    },
  },
  'Query.feedbackSource': {
    query: 'query ($id: ID!) { feedbackSource(id: $id) { id name description } }',
    probes: [{ arg: 'id', owner: 'source', variables: (id) => ({ id }), expected: missingField('feedbackSource', sourceNotFound('id')) }],
  },
  'Query.people': {
    query: '{ people(first: 100) { edges { node { id email firstName lastName company { id name } } } } }',
    probes: [],
    withoutId: {
      variables: () => ({}),
      check: async (answer) => expect(nodeIds(dataOf(answer).people)).toEqual((await idsOfB('person')).reverse()),
    },
  },
  'Query.person': {
    query: 'query ($id: ID!) { person(id: $id) { id email firstName company { name } } }',
    probes: [{ arg: 'id', owner: 'person', variables: (id) => ({ id }), expected: missingField('person', personNotFound('id')) }],
  },
  'Query.records': {
    query:
      'query ($sourceId: ID, $personId: ID, $filter: FeedbackRecordFilter) { records(sourceId: $sourceId, personId: $personId, filter: $filter, first: 100) { totalCount edges { node { id externalId fields { name value } } } } }',
    probes: [
      { arg: 'sourceId', owner: 'source', variables: (id) => ({ sourceId: id }), expected: missingField('records', sourceNotFound('sourceId')) },
      { arg: 'personId', owner: 'person', variables: (id) => ({ personId: id }), expected: missingField('records', personNotFound('personId')) },
      ...filterProbes('records', { totalCount: 0, edges: [] }),
    ],
    withoutId: {
      variables: () => ({}),
      check: async (answer) => expect(nodeIds(dataOf(answer).records).sort()).toEqual((await idsOfB('record')).sort()),
    },
  },
  'Query.recordStats': {
    query:
      'query ($sourceId: ID, $personId: ID, $filter: FeedbackRecordFilter) { recordStats(sourceId: $sourceId, personId: $personId, filter: $filter, groupBy: [SOURCE]) { truncated groups { key { sourceId } count } } }',
    probes: [
      { arg: 'sourceId', owner: 'source', variables: (id) => ({ sourceId: id }), expected: missingField('recordStats', sourceNotFound('sourceId')) },
      { arg: 'personId', owner: 'person', variables: (id) => ({ personId: id }), expected: missingField('recordStats', personNotFound('personId')) },
      // A filter narrows: A's ids match nothing, as ids that never existed do.
      ...filterProbes('recordStats', { truncated: false, groups: [] }),
    ],
    withoutId: {
      variables: () => ({}),
      check: async (answer) => {
        const { recordStats } = dataOf(answer) as { recordStats: { groups: { key: { sourceId: string } }[] } };
        await expectOnlyB('source', recordStats.groups.map((group) => group.key.sourceId));
      },
    },
  },
  'Query.record': {
    query: 'query ($id: ID!, $sourceId: ID) { record(id: $id, sourceId: $sourceId) { id externalId fields { name value } } }',
    probes: [
      { arg: 'id', owner: 'record', variables: (id) => ({ id }), expected: missingField('record', recordNotFound('id')) },
      { arg: 'sourceId', owner: 'source', variables: (id) => ({ id: b.record, sourceId: id }), expected: missingField('record', sourceNotFound('sourceId')) },
    ],
  },
  'Query.node': {
    query: 'query ($nodeId: ID!) { node(nodeId: $nodeId) { __typename nodeId ... on FeedbackRecord { id externalId fields { name value } } } }',
    probes: [
      { arg: 'nodeId', owner: 'record', variables: (id) => ({ nodeId: encodeNodeId('FeedbackRecord', id) }), expected: missingField('node', { code: 'NODE_NOT_FOUND', param: 'nodeId' }) },
    ],
  },
  'Query.nodes': {
    query: 'query ($nodeIds: [ID!]!) { nodes(nodeIds: $nodeIds) { __typename nodeId ... on Person { id email firstName company { name } } } }',
    probes: [
      {
        arg: 'nodeIds',
        owner: 'person',
        variables: (id) => ({ nodeIds: [encodeNodeId('Person', id)] }),
        expected: { data: { nodes: [null] }, errors: [{ message: expect.any(String), extensions: { type: 'not_found_error', code: 'NODE_NOT_FOUND', param: 'nodeIds[0]' } }] },
      },
    ],
  },
  'Mutation.createFeedbackSource': {
    query: `mutation ($input: FeedbackSourceInput!) { createFeedbackSource(input: $input) { ${ERROR} ... on CreateFeedbackSourceSuccess { feedbackSource { id name description recordCount } } } }`,
    probes: [],
    withoutId: {
      variables: () => ({ input: { name: A_KEYS.graphql.sourceName, description: 'Globex survey' } }),
      check: async (answer) => {
        const { createFeedbackSource } = dataOf(answer) as { createFeedbackSource: { __typename: string; feedbackSource: { id: string; recordCount: number } } };
        expect(createFeedbackSource.__typename).toBe('CreateFeedbackSourceSuccess');
        expect(createFeedbackSource.feedbackSource.recordCount).toBe(0);
        await expectOnlyB('source', [createFeedbackSource.feedbackSource.id]);
      },
    },
  },
  'Mutation.updateFeedbackSource': {
    query: `mutation ($id: ID!) { updateFeedbackSource(id: $id, input: { description: "changed by Globex" }) { ${ERROR} ... on UpdateFeedbackSourceSuccess { feedbackSource { id description } } } }`,
    probes: [{ arg: 'id', owner: 'source', variables: (id) => ({ id }), expected: notFoundPayload('updateFeedbackSource', sourceNotFound('id')) }],
  },
  'Mutation.deleteFeedbackSource': {
    query: `mutation ($id: ID!) { deleteFeedbackSource(id: $id, cascade: true) { ${ERROR} ... on DeleteFeedbackSourceSuccess { id } } }`,
    probes: [{ arg: 'id', owner: 'source', variables: (id) => ({ id }), expected: notFoundPayload('deleteFeedbackSource', sourceNotFound('id')) }],
  },
  'Mutation.upsertPerson': {
    query: `mutation ($input: UpsertPersonInput!) { upsertPerson(input: $input) { ${ERROR} ... on UpsertPersonSuccess { created person { id firstName lastName company { id name } } } } }`,
    probes: [],
    withoutId: {
      variables: () => ({ input: { email: A_KEYS.graphql.email, externalId: A_KEYS.graphql.externalId, company: { name: 'Globex Corp', domain: A_KEYS.graphql.domain } } }),
      check: async (answer) => {
        const { upsertPerson } = dataOf(answer) as { upsertPerson: { __typename: string; created: boolean; person: { id: string; company: { id: string } } } };
        expect({ __typename: upsertPerson.__typename, created: upsertPerson.created }).toEqual({ __typename: 'UpsertPersonSuccess', created: true });
        await expectOnlyB('person', [upsertPerson.person.id]);
        expect(await idsOfB('company')).toContain(upsertPerson.person.company.id);
      },
    },
  },
  'Mutation.deletePerson': {
    query: `mutation ($id: ID!) { deletePerson(id: $id) { ${ERROR} ... on DeletePersonSuccess { id } } }`,
    probes: [{ arg: 'id', owner: 'person', variables: (id) => ({ id }), expected: notFoundPayload('deletePerson', personNotFound('id')) }],
  },
  'Mutation.ingestRecord': {
    query: `mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { ${ERROR} ... on IngestRecordSuccess { record { id } } } }`,
    probes: [
      { arg: 'sourceId', owner: 'source', variables: (id) => ({ sourceId: id, input: { fields: subject('Written by Globex') } }), expected: notFoundPayload('ingestRecord', sourceNotFound('sourceId')) },
      {
        arg: 'input.personId',
        owner: 'person',
        variables: (id) => ({ sourceId: b.source, input: { personId: id, fields: subject('Written by Globex') } }),
        expected: notFoundPayload('ingestRecord', personNotFound('personId')),
      },
    ],
  },
  'Mutation.ingestRecords': {
    query: `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) {
      ingestRecords(sourceId: $sourceId, records: $records) { ${ERROR} ... on IngestRecordsSuccess { ingestedCount failedCount results { ${ERROR} ... on IngestRecordSuccess { record { id } } } } }
    }`,
    probes: [
      { arg: 'sourceId', owner: 'source', variables: (id) => ({ sourceId: id, records: [{ fields: subject('Written by Globex') }] }), expected: notFoundPayload('ingestRecords', sourceNotFound('sourceId')) },
      {
        arg: 'records.personId',
        owner: 'person',
        variables: (id) => ({ sourceId: b.source, records: [{ personId: id, fields: subject('Written by Globex') }] }),
        expected: {
          data: {
            ingestRecords: {
              __typename: 'IngestRecordsSuccess',
              ingestedCount: 0,
              failedCount: 1,
              results: [{ __typename: 'NotFoundError', type: 'not_found_error', ...personNotFound('personId') }],
            },
          },
        },
      },
    ],
  },
  'Query.webhookEndpoints': {
    query: '{ webhookEndpoints(first: 100) { edges { node { id url } } } }',
    probes: [],
    withoutId: {
      variables: () => ({}),
      check: async (answer) => expect(nodeIds(dataOf(answer).webhookEndpoints)).toEqual((await idsOfB('webhook')).reverse()),
    },
  },
  'Query.webhookEndpoint': {
    query: 'query ($id: ID!) { webhookEndpoint(id: $id) { id url events { edges { node { id } } } } }',
    probes: [{ arg: 'id', owner: 'webhook', variables: (id) => ({ id }), expected: missingField('webhookEndpoint', webhookNotFound('id')) }],
  },
  'Mutation.createWebhookEndpoint': {
    query: `mutation ($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { ${ERROR} ... on CreateWebhookEndpointSuccess { webhookEndpoint { id sourceIds } } } }`,
    probes: [
      {
        arg: 'input.sourceIds',
        owner: 'source',
        variables: (id) => ({ input: { url: WEBHOOK_URL, eventTypes: ['feedback_record.created'], sourceIds: [id] } }),
        expected: notFoundPayload('createWebhookEndpoint', sourceNotFound('sourceIds[0]')),
      },
    ],
  },
  'Mutation.updateWebhookEndpoint': {
    query: `mutation ($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { ${ERROR} ... on UpdateWebhookEndpointSuccess { webhookEndpoint { id } } } }`,
    probes: [
      { arg: 'id', owner: 'webhook', variables: (id) => ({ id, input: { enabled: false } }), expected: notFoundPayload('updateWebhookEndpoint', webhookNotFound('id')) },
      { arg: 'input.sourceIds', owner: 'source', variables: (id) => ({ id: b.webhook, input: { sourceIds: [id] } }), expected: notFoundPayload('updateWebhookEndpoint', sourceNotFound('sourceIds[0]')) },
    ],
  },
  'Mutation.rotateWebhookEndpointSecret': {
    query: `mutation ($id: ID!) { rotateWebhookEndpointSecret(id: $id) { ${ERROR} ... on RotateWebhookEndpointSecretSuccess { secret } } }`,
    probes: [{ arg: 'id', owner: 'webhook', variables: (id) => ({ id }), expected: notFoundPayload('rotateWebhookEndpointSecret', webhookNotFound('id')) }],
  },
  'Mutation.deleteWebhookEndpoint': {
    query: `mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { ${ERROR} ... on DeleteWebhookEndpointSuccess { id } } }`,
    probes: [{ arg: 'id', owner: 'webhook', variables: (id) => ({ id }), expected: notFoundPayload('deleteWebhookEndpoint', webhookNotFound('id')) }],
  },
  'Mutation.replayWebhookEvent': {
    query: `mutation ($id: ID!, $endpointId: ID) { replayWebhookEvent(id: $id, endpointId: $endpointId) { ${ERROR} ... on ReplayWebhookEventSuccess { webhookEvent { id } } } }`,
    probes: [
      { arg: 'id', owner: 'webhookEvent', variables: (id) => ({ id }), expected: notFoundPayload('replayWebhookEvent', webhookEventNotFound('id')) },
      { arg: 'endpointId', owner: 'webhook', variables: (id) => ({ id: b.webhookEvent, endpointId: id }), expected: notFoundPayload('replayWebhookEvent', webhookEventNotFound('id')) },
    ],
  },
  'Mutation.deleteRecord': {
    query: `mutation ($id: ID!, $sourceId: ID) { deleteRecord(id: $id, sourceId: $sourceId) { ${ERROR} ... on DeleteRecordSuccess { id } } }`,
    probes: [
      { arg: 'id', owner: 'record', variables: (id) => ({ id }), expected: notFoundPayload('deleteRecord', recordNotFound('id')) },
      { arg: 'sourceId', owner: 'source', variables: (id) => ({ id: b.record, sourceId: id }), expected: notFoundPayload('deleteRecord', sourceNotFound('sourceId')) },
    ],
  },
};

// ---------------------------------------------------------------------------------------------

async function setUp(): Promise<void> {
  server = await startTestServer();
  tokenA = await server.createToken('Acme');
  tokenB = await server.createToken('Globex');
  ({ organizationId: orgB, apiKeyId: apiKeyB } = await keyOf(server.orm, hashToken(tokenB)));
  // A's ids are distinctive numbers, so replacing them in messages cannot touch anything else.
  for (const table of ['feedback_source', 'person', 'company', 'feedback_record']) {
    await rows(server.orm, `select setval(pg_get_serial_sequence('${table}', 'id'), 700000)`);
  }
  const asA = async (method: string, call: RestCall) => {
    const answer = await sendRest(method, call, tokenA);
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    return answer.body as { id: number };
  };
  a.source = String((await asA('POST', { path: '/feedback-sources', body: { name: A_KEYS.rest.sourceName, type: 'support_tickets', description: `${MARKER} tickets` } })).id);
  await asA('POST', { path: '/feedback-sources', body: { name: A_KEYS.graphql.sourceName, type: 'survey', description: `${MARKER} survey` } });
  for (const keys of [A_KEYS.rest, A_KEYS.graphql]) {
    const person = await asA('PUT', {
      path: '/people',
      body: { email: keys.email, external_id: keys.externalId, first_name: `${MARKER} first`, last_name: `${MARKER} last`, company: { name: `${MARKER} company`, domain: keys.domain } },
    });
    if (keys === A_KEYS.rest) a.person = String(person.id);
    if (keys === A_KEYS.rest) a.company = String((person as { company_id?: number }).company_id);
  }
  a.record = String((await asA('POST', { path: `/feedback-sources/${a.source}/records`, body: { external_id: 'ticket-4711', person_id: Number(a.person), fields: subject(`${MARKER} cannot log in`) } })).id);
  expect((await sendRest('POST', { path: '/feedback-sources', body: SHARED_KEY_SOURCES.rest }, tokenA, A_IDEMPOTENCY_KEYS.rest)).status).toBe(201);
  expect((await sendRest('POST', { path: '/feedback-sources', body: { name: 'Counted by Acme' } }, tokenA, A_IDEMPOTENCY_KEYS.counted)).status).toBe(201);
  const graphqlCreate = await sendGraphQL(CREATE_SOURCE, { input: SHARED_KEY_SOURCES.graphql }, tokenA, A_IDEMPOTENCY_KEYS.graphql);
  expect((graphqlCreate.body as { data: { createFeedbackSource: { __typename: string } } }).data.createFeedbackSource.__typename).toBe('CreateFeedbackSourceSuccess');

  // B's own rows come after A's, so B's ids are larger than A's and never equal to them.
  const asB = async (method: string, call: RestCall) => (await sendRest(method, call, tokenB)).body as { id: number };
  b.source = String((await asB('POST', { path: '/feedback-sources', body: { name: 'Intercom Chats', type: 'chat' } })).id);
  b.person = String((await asB('PUT', { path: '/people', body: { email: 'bob@globex.example' } })).id);
  b.record = String((await asB('POST', { path: `/feedback-sources/${b.source}/records`, body: { person_id: Number(b.person), fields: subject('Love the new export') } })).id);
  // Webhook endpoints, paused, each with a delivered event as the outbox holds them.
  const withEvent = async (token: string, owner: typeof a) => {
    owner.webhook = String(((await sendRest('POST', { path: '/webhooks', body: WEBHOOK }, token)).body as { id: number }).id);
    owner.webhookEvent = `msg_${owner.webhook.padStart(32, '0')}`;
    await rows(server.orm, 'update "webhook_endpoint" set "enabled" = false where "id" = ?', [owner.webhook]);
    await rows(
      server.orm,
      `insert into "webhook_event" ("id", "organization_id", "endpoint_id", "type", "payload", "created_at", "next_attempt_at", "status", "attempts")
        select ?, "organization_id", "id", 'webhook_endpoint.disabled', '{"marker": "${MARKER}"}', now(), null, 'delivered', 1 from "webhook_endpoint" where "id" = ?`,
      [owner.webhookEvent, owner.webhook],
    );
  };
  await withEvent(tokenA, a);
  await withEvent(tokenB, b);
  snapshotBefore = await organizationSnapshot(server.orm, (await keyOf(server.orm, hashToken(tokenA))).organizationId);
}

beforeAll(setUp);
afterAll(() => server?.close());

/** Sends both versions once uncounted (so no first-use cost counts), then counts each. */
async function statementCounts(send: (id: string) => Promise<Answer>, aId: string): Promise<{ theirs: number; never: number }> {
  await send(NEVER);
  const theirs = await countStatements(() => send(aId));
  const never = await countStatements(() => send(NEVER));
  return { theirs: theirs.statements.length, never: never.statements.length };
}

describe('the sweep tables', () => {
  it('name only REST routes that exist', () => {
    const keys = restRoutes.map((route) => `${route.method} ${route.path}`);
    expect(Object.keys(REST_SWEEP).filter((key) => !keys.includes(key))).toEqual([]);
  });

  it('name only GraphQL query and mutation fields that exist', () => {
    const fields = [...Object.keys(schema.getQueryType()?.getFields() ?? {}).map((name) => `Query.${name}`), ...Object.keys(schema.getMutationType()?.getFields() ?? {}).map((name) => `Mutation.${name}`)];
    expect(Object.keys(GRAPHQL_SWEEP).filter((key) => !fields.includes(key))).toEqual([]);
  });
});

for (const route of restRoutes) {
  const key = `${route.method} ${route.path}`;
  const entry = REST_SWEEP[key];
  const idArgs = restIdArguments(route);

  describe(`REST ${key}`, () => {
    it(`is in the sweep table with a probe for each id it takes (${idArgs.join(', ') || 'none'}) or else a call without one`, () => {
      expect(entry, `add "${key}" to REST_SWEEP`).toBeDefined();
      expect(entry?.probes.map((probe) => probe.arg).sort()).toEqual(idArgs);
      if (idArgs.length === 0) expect(entry?.withoutId, `"${key}" takes no id: give it a withoutId call`).toBeDefined();
    });

    for (const probe of entry?.probes ?? []) {
      const send = (id: string) => sendRest(route.method, probe.call(id), tokenB);

      it(`answers B on A's ${probe.owner} as ${probe.arg} with 404 ${probe.expected.code}, exactly as on an id that never existed`, async () => {
        const theirs = await send(aIdOf(probe.owner));
        const never = await send(NEVER);
        expect(theirs.status).toBe(404);
        expect((theirs.body as { error: unknown }).error).toMatchObject({ type: 'not_found_error', ...probe.expected });
        expect(comparable(theirs, aIdOf(probe.owner))).toEqual(comparable(never, NEVER));
      });

      it(`spends as many SQL statements on A's ${probe.owner} as ${probe.arg} as on an id that never existed`, async () => {
        const counts = await statementCounts(send, aIdOf(probe.owner));
        expect(counts.theirs).toBe(counts.never);
      });
    }

    const withoutId = entry?.withoutId;
    if (withoutId) {
      it("shows B none of A's data", async () => {
        const answer = await sendRest(route.method, withoutId.call(), tokenB);
        expectNoMarker(answer);
        await withoutId.check(answer);
      });
    }
  });
}

const graphqlFields = [
  ...Object.values(schema.getQueryType()?.getFields() ?? {}).map((field) => ({ key: `Query.${field.name}`, field })),
  ...Object.values(schema.getMutationType()?.getFields() ?? {}).map((field) => ({ key: `Mutation.${field.name}`, field })),
];

for (const { key, field } of graphqlFields) {
  const entry = GRAPHQL_SWEEP[key];
  const idArgs = graphqlIdArguments(field);

  describe(`GraphQL ${key}`, () => {
    it(`is in the sweep table with a probe for each ID argument (${idArgs.join(', ') || 'none'}) or else a call without one`, () => {
      expect(entry, `add "${key}" to GRAPHQL_SWEEP`).toBeDefined();
      expect(entry?.probes.map((probe) => probe.arg).sort()).toEqual(idArgs);
      if (idArgs.length === 0) expect(entry?.withoutId, `"${key}" takes no id: give it a withoutId call`).toBeDefined();
    });

    for (const probe of entry?.probes ?? []) {
      const send = (id: string) => sendGraphQL(entry?.query ?? '', probe.variables(id), tokenB);
      const code = JSON.stringify(probe.expected).match(/"code":"(\w+)"/)?.[1];

      it(`answers B on A's ${probe.owner} as ${probe.arg} with ${code}, exactly as on an id that never existed`, async () => {
        const theirs = await send(aIdOf(probe.owner));
        const never = await send(NEVER);
        expect(theirs.status).toBe(200);
        expect(theirs.body).toMatchObject(probe.expected);
        expect(comparable(theirs, aIdOf(probe.owner))).toEqual(comparable(never, NEVER));
      });

      it(`spends as many SQL statements on A's ${probe.owner} as ${probe.arg} as on an id that never existed`, async () => {
        const counts = await statementCounts(send, aIdOf(probe.owner));
        expect(counts.theirs).toBe(counts.never);
      });
    }

    const withoutId = entry?.withoutId;
    if (withoutId) {
      it("shows B none of A's data", async () => {
        const answer = await sendGraphQL(entry?.query ?? '', withoutId.variables(), tokenB);
        expect(answer.status).toBe(200);
        expectNoMarker(answer);
        await withoutId.check(answer);
      });
    }
  });
}

describe("an Idempotency-Key A's organization used", () => {
  it("answers B's REST write with that key as a key never used: 201, not replayed, with a source of B's own", async () => {
    const answer = await sendRest('POST', { path: '/feedback-sources', body: SHARED_KEY_SOURCES.rest }, tokenB, A_IDEMPOTENCY_KEYS.rest);
    expect({ status: answer.status, replayed: answer.headers.get('idempotency-replayed') }).toEqual({ status: 201, replayed: null });
    await expectOnlyB('source', [String((answer.body as { id: number }).id)]);
  });

  it("answers B's GraphQL mutation with that key as a key never used: not replayed, with a source of B's own", async () => {
    const answer = await sendGraphQL(CREATE_SOURCE, { input: SHARED_KEY_SOURCES.graphql }, tokenB, A_IDEMPOTENCY_KEYS.graphql);
    expect(answer.headers.get('idempotency-replayed')).toBeNull();
    const { createFeedbackSource } = dataOf(answer) as { createFeedbackSource: { __typename: string; feedbackSource: { id: string } } };
    expect(createFeedbackSource.__typename).toBe('CreateFeedbackSourceSuccess');
    await expectOnlyB('source', [createFeedbackSource.feedbackSource.id]);
  });

  it("costs B's write with that key as many SQL statements as with a key never used", async () => {
    const theirs = await countStatements(() => sendRest('POST', { path: '/feedback-sources', body: { name: 'Counted by Globex 1' } }, tokenB, A_IDEMPOTENCY_KEYS.counted));
    const never = await countStatements(() => sendRest('POST', { path: '/feedback-sources', body: { name: 'Counted by Globex 2' } }, tokenB, 'globex-key-never-used'));
    expect([theirs.result.status, never.result.status]).toEqual([201, 201]);
    expect(theirs.statements.length).toBe(never.statements.length);
  });
});

describe('after the sweep', () => {
  it("leaves every row of A's organization as it was", async () => {
    expect(await organizationSnapshot(server.orm, (await keyOf(server.orm, hashToken(tokenA))).organizationId)).toEqual(snapshotBefore);
  });
});
