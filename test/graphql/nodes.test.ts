import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../../src/graphql/limits.ts';
import { MAX_NODE_IDS } from '../../src/graphql/node.ts';
import { encodeNodeId } from '../../src/graphql/node-ids.ts';
import type { Scope } from '../../src/organizations/scopes.ts';
import { expectGraphQLErrorEnvelope, type GraphQLBody, type GraphQLReply, PUBLIC_URL, send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { countStatements } from '../helpers/sql-counter.ts';

// SPEC §11 (issue 11, item 6): every entity is a Node with a globally unique nodeId; node(nodeId) and
// nodes(nodeIds) load any of them, scoped like the type's own query.

let server: TestServer;
let token: string;

/** One object of each Node type, as its own query answers it. */
interface Known {
  typename: 'Organization' | 'FeedbackSource' | 'Person' | 'Company' | 'FeedbackRecord';
  id: string;
  nodeId: string;
}
const known: Record<Known['typename'], Known[]> = { Organization: [], FeedbackSource: [], Person: [], Company: [], FeedbackRecord: [] };
const first = (typename: Known['typename']): Known => known[typename][0] as Known;

/** An id no row of any table has. */
const NEVER = 987654321;

const SEEDED = 10;

const nodeSelection = `__typename nodeId
  ... on Organization { id name }
  ... on FeedbackSource { id name }
  ... on Person { id email }
  ... on Company { id name }
  ... on FeedbackRecord { id externalId }`;

const nodeQuery = `query ($nodeId: ID!) { node(nodeId: $nodeId) { ${nodeSelection} } }`;
const nodesQuery = `query ($nodeIds: [ID!]!) { nodes(nodeIds: $nodeIds) { ${nodeSelection} } }`;

interface NodeData {
  __typename: string;
  nodeId: string;
  id: string;
}

async function tokenWith(scopes: Scope[]): Promise<string> {
  return await server.createToken('Acme', { scopes });
}

/** The answer without what must differ between two requests: the request id, and the nodeId a message quotes. */
function comparable(response: GraphQLReply<unknown>): unknown {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        if (key === 'request_id') return [key, '<request id>'];
        if (key === 'message' && typeof item === 'string') return [key, item.replace(/^No node with nodeId .*$/, 'No node with nodeId <nodeId>')];
        return [key, strip(item)];
      }),
    );
  };
  return strip({ status: response.status, body: response.body });
}

/** Errors in the order of their paths: nodes settle in any order. */
const byPath = (errors: GraphQLReply['body']['errors']) => [...(errors ?? [])].sort((a, b) => JSON.stringify(a.path).localeCompare(JSON.stringify(b.path)));

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme');
  const viewer = await server.graphql<{ viewer: { organization: { id: string; nodeId: string } } }>('{ viewer { organization { id nodeId } } }', {}, token);
  const organization = viewer.body.data?.viewer.organization;
  if (!organization) throw new Error(viewer.text);
  known.Organization.push({ typename: 'Organization', ...organization });

  for (let i = 0; i < SEEDED; i++) {
    const created = await server.graphql<{ createFeedbackSource: { feedbackSource: { id: string; nodeId: string } } }>(
      'mutation ($name: String!) { createFeedbackSource(input: { name: $name }) { ... on CreateFeedbackSourceSuccess { feedbackSource { id nodeId } } } }',
      { name: `Source ${i}` },
      token,
    );
    known.FeedbackSource.push({ typename: 'FeedbackSource', ...(created.body.data?.createFeedbackSource.feedbackSource ?? { id: '', nodeId: '' }) });
    const upserted = await server.graphql<{ upsertPerson: { person: { id: string; nodeId: string; company: { id: string; nodeId: string } } } }>(
      'mutation ($input: UpsertPersonInput!) { upsertPerson(input: $input) { ... on UpsertPersonSuccess { person { id nodeId company { id nodeId } } } } }',
      { input: { email: `person${i}@example.com`, company: { name: `Company ${i}`, domain: `company${i}.example` } } },
      token,
    );
    const person = upserted.body.data?.upsertPerson.person;
    if (!person) throw new Error(upserted.text);
    known.Person.push({ typename: 'Person', id: person.id, nodeId: person.nodeId });
    known.Company.push({ typename: 'Company', ...person.company });
  }
  const ingested = await server.graphql<{ ingestRecords: { results: { record: { id: string; nodeId: string } }[] } }>(
    `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) {
      ingestRecords(sourceId: $sourceId, records: $records) { ... on IngestRecordsSuccess { results { ... on IngestRecordSuccess { record { id nodeId } } } } }
    }`,
    {
      sourceId: first('FeedbackSource').id,
      records: known.Person.map((person, i) => ({ externalId: `ticket-${i}`, personId: person.id, fields: [{ category: 'content', type: 'string', name: 'subject', value: `Ticket ${i}` }] })),
    },
    token,
  );
  for (const { record } of ingested.body.data?.ingestRecords.results ?? []) known.FeedbackRecord.push({ typename: 'FeedbackRecord', ...record });
  for (const [typename, list] of Object.entries(known)) expect(list.length, typename).toBe(typename === 'Organization' ? 1 : SEEDED);
});

afterAll(() => server.close());

describe('nodeId', () => {
  it('is an opaque URL-safe string on every Node type, different for objects of different types with the same integer id', () => {
    const firsts = Object.values(known).map((list) => list[0] as Known);
    // The first object of each type has integer id 1 in this fresh database.
    expect(firsts.map((node) => node.id)).toEqual(['1', '1', '1', '1', '1']);
    for (const node of firsts) expect(node.nodeId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new Set(firsts.map((node) => node.nodeId)).size).toBe(firsts.length);
  });

  it('is the same wherever the object appears', async () => {
    const record = first('FeedbackRecord');
    const response = await server.graphql<{ record: { nodeId: string; source: { nodeId: string }; person: { nodeId: string; company: { nodeId: string } } } }>(
      'query ($id: ID!) { record(id: $id) { nodeId source { nodeId } person { nodeId company { nodeId } } } }',
      { id: record.id },
      token,
    );
    expect(response.body).toEqual({
      data: { record: { nodeId: record.nodeId, source: { nodeId: first('FeedbackSource').nodeId }, person: { nodeId: first('Person').nodeId, company: { nodeId: first('Company').nodeId } } } },
    });
  });

  it('is declared by the Node interface, which every entity implements', async () => {
    const response = await server.graphql<{ __type: { kind: string; fields: { name: string; type: { kind: string; ofType: { name: string } } }[]; possibleTypes: { name: string }[] } }>(
      '{ __type(name: "Node") { kind fields { name type { kind ofType { name } } } possibleTypes { name } } }',
    );
    expect(response.body.data?.__type).toEqual({
      kind: 'INTERFACE',
      fields: [{ name: 'nodeId', type: { kind: 'NON_NULL', ofType: { name: 'ID' } } }],
      possibleTypes: expect.arrayContaining(['Company', 'FeedbackRecord', 'FeedbackSource', 'Organization', 'Person'].map((name) => ({ name }))),
    });
    expect(response.body.data?.__type.possibleTypes).toHaveLength(5);
  });
});

describe('node(nodeId)', () => {
  it.each(Object.keys(known) as Known['typename'][])('answers the %s of a nodeId with its own nodeId and id', async (typename) => {
    for (const node of [first(typename), known[typename].at(-1) as Known]) {
      const response = await server.graphql<{ node: NodeData }>(nodeQuery, { nodeId: node.nodeId }, token);
      expect(response.status).toBe(200);
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data?.node).toMatchObject({ __typename: typename, nodeId: node.nodeId, id: node.id });
    }
  });

  it('answers null with NODE_NOT_FOUND, param nodeId and 200 for a nodeId that never existed', async () => {
    const nodeId = encodeNodeId('FeedbackSource', NEVER);
    const response = await server.graphql(nodeQuery, { nodeId }, token);
    expect(response.body.data).toEqual({ node: null });
    expect(response.status).toBe(200);
    expect(response.body.errors?.[0]?.path).toEqual(['node']);
    expectGraphQLErrorEnvelope(response, { status: 200, type: 'not_found_error', code: 'NODE_NOT_FOUND', param: 'nodeId', message: `No node with nodeId "${nodeId}".` });
  });

  it('answers a deleted object as one that never existed', async () => {
    const created = await server.graphql<{ createFeedbackSource: { feedbackSource: { id: string; nodeId: string } } }>(
      'mutation { createFeedbackSource(input: { name: "Short-lived" }) { ... on CreateFeedbackSourceSuccess { feedbackSource { id nodeId } } } }',
      {},
      token,
    );
    const source = created.body.data?.createFeedbackSource.feedbackSource;
    if (!source) throw new Error(created.text);
    await server.graphql('mutation ($id: ID!) { deleteFeedbackSource(id: $id) { __typename } }', { id: source.id }, token);
    const deleted = await server.graphql(nodeQuery, { nodeId: source.nodeId }, token);
    const never = encodeNodeId('FeedbackSource', NEVER);
    expect(comparable(deleted)).toEqual(comparable(await server.graphql(nodeQuery, { nodeId: never }, token)));
  });

  it('answers 401 API_TOKEN_MISSING without a token', async () => {
    const response = await server.graphql(nodeQuery, { nodeId: first('FeedbackSource').nodeId });
    expect(response.status).toBe(401);
    expectGraphQLErrorEnvelope(response, { type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
  });
});

describe('a malformed nodeId', () => {
  const text = (value: string) => Buffer.from(value).toString('base64url');
  const malformed: [string, string][] = [
    ['not base64url', 'not a node id!'],
    ['empty', ''],
    ['plain text', 'FeedbackSource:1'],
    ['padded base64', Buffer.from('FeedbackSource:1').toString('base64')],
    ['an unknown type', text('Unicorn:1')],
    ['a type that is not a Node', text('ValidationError:1')],
    ['the interface itself', text('Node:1')],
    ['a lower-case type', text('feedbackSource:1')],
    ['no id', text('FeedbackSource:')],
    ['no separator', text('FeedbackSource1')],
    ['a zero id', text('FeedbackSource:0')],
    ['a negative id', text('FeedbackSource:-1')],
    ['a leading zero', text('FeedbackSource:01')],
    ['a word for an id', text('FeedbackSource:abc')],
    ['an id beyond safe integers', text('FeedbackSource:99999999999999999')],
    ['two ids', text('FeedbackSource:1:2')],
    ['a very long one', 'A'.repeat(10_000)],
  ];

  it.each(malformed)('answers %s exactly as a nodeId that never existed', async (_case, nodeId) => {
    const never = encodeNodeId('FeedbackSource', NEVER);
    const missing = await server.graphql(nodeQuery, { nodeId: never }, token);
    const response = await server.graphql(nodeQuery, { nodeId }, token);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'NODE_NOT_FOUND', param: 'nodeId' });
    expect(comparable(response)).toEqual(comparable(missing));
  });

  it('answers an integer literal as a nodeId that never existed', async () => {
    const response = await server.graphql('{ node(nodeId: 1) { nodeId } }', {}, token);
    expect(response.body.data).toEqual({ node: null });
    expectGraphQLErrorEnvelope(response, { status: 200, type: 'not_found_error', code: 'NODE_NOT_FOUND', param: 'nodeId', message: '"1"' });
  });
});

describe('nodes(nodeIds)', () => {
  it('answers nodes of every type in the order given, repeats included', async () => {
    const wanted = [first('FeedbackRecord'), first('Organization'), first('Company'), first('FeedbackSource'), first('Person'), first('FeedbackRecord')];
    const response = await server.graphql<{ nodes: NodeData[] }>(nodesQuery, { nodeIds: wanted.map((node) => node.nodeId) }, token);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.nodes.map(({ __typename, nodeId, id }) => ({ typename: __typename, nodeId, id }))).toEqual(wanted);
  });

  it('answers null at the index of each nodeId it cannot find, with NODE_NOT_FOUND naming that index, and the others', async () => {
    const nodeIds = [first('Person').nodeId, encodeNodeId('Person', NEVER), 'garbage', first('FeedbackSource').nodeId];
    const response = await server.graphql<{ nodes: (NodeData | null)[] }>(nodesQuery, { nodeIds }, token);
    expect(response.status).toBe(200);
    expect(response.body.data?.nodes.map((node) => node?.id ?? null)).toEqual([first('Person').id, null, null, first('FeedbackSource').id]);
    const errors = byPath(response.body.errors);
    expect(errors.map((error) => [error.path, error.extensions?.code, error.extensions?.param])).toEqual([
      [['nodes', 1], 'NODE_NOT_FOUND', 'nodeIds[1]'],
      [['nodes', 2], 'NODE_NOT_FOUND', 'nodeIds[2]'],
    ]);
    expect(errors[1]?.extensions).toMatchObject({ type: 'not_found_error', doc_url: `${PUBLIC_URL}/docs/errors#NODE_NOT_FOUND`, message: 'No node with nodeId "garbage".' });
  });

  it('answers the same when the document is interpreted as when it is compiled', async () => {
    const nodeIds = [encodeNodeId('Person', NEVER), first('Person').nodeId, 'garbage', first('Company').nodeId];
    const compiled = await server.graphql(nodesQuery, { nodeIds }, token);
    // A document of several operations is not compiled.
    const interpreted = await send<GraphQLBody<unknown>>(server.url, {
      method: 'POST',
      path: '/graphql',
      headers: { accept: 'application/graphql-response+json', 'x-api-token': token },
      json: { query: `${nodesQuery.replace('query (', 'query Nodes(')} query Other { viewer { apiKeyId } }`, operationName: 'Nodes', variables: { nodeIds } },
    });
    // Compiled execution leaves out the errors' locations.
    const answer = (reply: GraphQLReply<unknown>) => comparable({ ...reply, body: { data: reply.body.data, errors: byPath(reply.body.errors).map(({ message, path, extensions }) => ({ message, path, extensions })) } });
    expect(answer(interpreted)).toEqual(answer(compiled));
    expect(((compiled.body.data as { nodes: unknown[] } | undefined)?.nodes ?? []).map((node) => node !== null)).toEqual([false, true, false, true]);
  });

  it('answers an empty list for no nodeIds', async () => {
    const response = await server.graphql(nodesQuery, { nodeIds: [] }, token);
    expect(response.body).toEqual({ data: { nodes: [] } });
  });

  it(`answers up to ${MAX_NODE_IDS} nodeIds`, async () => {
    const nodeIds = Array.from({ length: MAX_NODE_IDS }, (_, i) => (known.FeedbackRecord[i % SEEDED] as Known).nodeId);
    const response = await server.graphql<{ nodes: { nodeId: string }[] }>('query ($nodeIds: [ID!]!) { nodes(nodeIds: $nodeIds) { nodeId } }', { nodeIds }, token);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.nodes.map((node) => node.nodeId)).toEqual(nodeIds);
  });

  it(`refuses more than ${MAX_NODE_IDS} nodeIds with INVALID_FIELD_VALUE naming the limit`, async () => {
    const nodeIds = Array.from({ length: MAX_NODE_IDS + 1 }, () => first('FeedbackRecord').nodeId);
    const { result, statements } = await countStatements(() => server.graphql('query ($nodeIds: [ID!]!) { nodes(nodeIds: $nodeIds) { nodeId } }', { nodeIds }, token));
    expect(result.body.data).toBeNull();
    // A field error, like records(first: 500): 200, and data null as nodes is non-null.
    expectGraphQLErrorEnvelope(result, { status: 200, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'nodeIds', message: `at most ${MAX_NODE_IDS} ids; got ${MAX_NODE_IDS + 1}` });
    expect(statements).toEqual([]);
  });

  it('counts every nodeId in the query cost: a selection one node may ask for is refused for a hundred', async () => {
    const query = `query ($nodeIds: [ID!]!) {
      nodes(nodeIds: $nodeIds) { nodeId ... on FeedbackSource { records(first: 100) { edges { node { id fields { name value } } } } } }
    }`;
    const one = await server.graphql(query, { nodeIds: [first('FeedbackSource').nodeId] }, token);
    expect(one.status).toBe(200);
    expect(one.body.errors).toBeUndefined();
    const many = await server.graphql(query, { nodeIds: Array.from({ length: MAX_NODE_IDS }, () => first('FeedbackSource').nodeId) }, token);
    expect(many.status).toBe(400);
    expect(many.body.data).toBeUndefined();
    expectGraphQLErrorEnvelope(many, { type: 'validation_error', code: 'QUERY_TOO_COMPLEX', param: null, message: `over the limit of ${QUERY_LIMITS.cost}` });
  });
});

describe('scopes', () => {
  const cases: { typename: Known['typename']; scope: Scope }[] = [
    { typename: 'FeedbackSource', scope: 'sources:read' },
    { typename: 'Person', scope: 'people:read' },
    { typename: 'Company', scope: 'people:read' },
    { typename: 'FeedbackRecord', scope: 'records:read' },
  ];

  it.each(cases)('answers node() of a $typename null with INSUFFICIENT_SCOPE and 403 without $scope', async ({ typename, scope }) => {
    const others = (['sources:read', 'people:read', 'records:read', 'sources:write', 'people:write', 'records:write'] as Scope[]).filter((other) => other !== scope);
    const response = await server.graphql(nodeQuery, { nodeId: first(typename).nodeId }, await tokenWith(others));
    expect(response.body.data).toEqual({ node: null });
    expect(response.status).toBe(403);
    expectGraphQLErrorEnvelope(response, { type: 'permission_error', code: 'INSUFFICIENT_SCOPE', param: null, message: `lacks the ${scope} scope` });
  });

  it.each(cases)('answers node() of a $typename with $scope alone', async ({ typename, scope }) => {
    const response = await server.graphql<{ node: NodeData }>(nodeQuery, { nodeId: first(typename).nodeId }, await tokenWith([scope]));
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.node).toMatchObject({ __typename: typename, id: first(typename).id });
  });

  it('answers the organization of the token with any scope', async () => {
    const response = await server.graphql<{ node: NodeData }>(nodeQuery, { nodeId: first('Organization').nodeId }, await tokenWith(['records:write']));
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.node).toMatchObject({ __typename: 'Organization', id: first('Organization').id, name: 'Acme' });
  });

  it('nulls in nodes() only the nodes the token may not read, each with INSUFFICIENT_SCOPE at its index, and answers 200', async () => {
    const wanted = [first('FeedbackRecord'), first('FeedbackSource'), first('Organization'), first('Person'), first('Company'), known.FeedbackRecord[1] as Known];
    const response = await server.graphql<{ nodes: (NodeData | null)[] }>(nodesQuery, { nodeIds: wanted.map((node) => node.nodeId) }, await tokenWith(['records:read']));
    expect(response.status).toBe(200);
    expect(response.body.data?.nodes.map((node) => node?.id ?? null)).toEqual([wanted[0]?.id, null, wanted[2]?.id, null, null, wanted[5]?.id]);
    expect(byPath(response.body.errors).map((error) => [error.path, error.extensions?.code, error.message])).toEqual([
      [['nodes', 1], 'INSUFFICIENT_SCOPE', 'This API token lacks the sources:read scope.'],
      [['nodes', 3], 'INSUFFICIENT_SCOPE', 'This API token lacks the people:read scope.'],
      [['nodes', 4], 'INSUFFICIENT_SCOPE', 'This API token lacks the people:read scope.'],
    ]);
  });

  it('checks the scopes of the fields asked of a node as their own queries do', async () => {
    const response = await server.graphql<{ node: { id: string; source: null } }>(
      'query ($nodeId: ID!) { node(nodeId: $nodeId) { ... on FeedbackRecord { id source { name } } } }',
      { nodeId: first('FeedbackRecord').nodeId },
      await tokenWith(['records:read']),
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ node: { id: first('FeedbackRecord').id, source: null } });
    expect(response.body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([[['node', 'source'], 'INSUFFICIENT_SCOPE']]);
  });
});

describe('SQL statements', () => {
  /** A token never used before, so each request pays for its lookup whatever the server caches. */
  const freshToken = () => server.createToken('Acme');
  const mixed = (perType: number) => Object.values(known).flatMap((list) => Array.from({ length: perType }, (_, i) => (list[i % list.length] as Known).nodeId));

  it('costs at most one statement per type for 50 nodeIds of five types, the token lookup included', async () => {
    const nodeIds = mixed(SEEDED);
    expect(nodeIds).toHaveLength(50);
    const unused = await freshToken();
    const { result, statements } = await countStatements(() => server.graphql<{ nodes: NodeData[] }>(nodesQuery, { nodeIds }, unused));
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data?.nodes.map((node) => node.nodeId)).toEqual(nodeIds);
    // The organization is the token's own: only sources, people, companies and records are read.
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(1 + 4);
  });

  it('costs the same for 5 nodeIds of five types as for 50', async () => {
    const [small, large] = [await freshToken(), await freshToken()];
    const five = await countStatements(() => server.graphql(nodesQuery, { nodeIds: mixed(1) }, small));
    const fifty = await countStatements(() => server.graphql(nodesQuery, { nodeIds: mixed(SEEDED) }, large));
    expect(five.statements.length).toBe(fifty.statements.length);
  });

  it('loads the nodes of several node() fields of one type in one statement', async () => {
    const [a, b, c] = known.FeedbackSource;
    const query = 'query ($a: ID!, $b: ID!, $c: ID!) { a: node(nodeId: $a) { nodeId } b: node(nodeId: $b) { nodeId } c: node(nodeId: $c) { nodeId } }';
    const unused = await freshToken();
    const { result, statements } = await countStatements(() => server.graphql(query, { a: a?.nodeId, b: b?.nodeId, c: c?.nodeId }, unused));
    expect(result.body).toEqual({ data: { a: { nodeId: a?.nodeId }, b: { nodeId: b?.nodeId }, c: { nodeId: c?.nodeId } } });
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(2);
  });

  it('loads an object asked for by node() and through a field of another node in one request with one statement', async () => {
    const [record, person] = [first('FeedbackRecord'), first('Person')];
    const query = 'query ($person: ID!, $record: ID!) { person: node(nodeId: $person) { nodeId } record: node(nodeId: $record) { ... on FeedbackRecord { person { nodeId } } } }';
    const unused = await freshToken();
    const { result, statements } = await countStatements(() => server.graphql(query, { person: person.nodeId, record: record.nodeId }, unused));
    expect(result.body).toEqual({ data: { person: { nodeId: person.nodeId }, record: { person: { nodeId: person.nodeId } } } });
    // The token, the record and the person: the record's person is the one node() loaded.
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(1 + 2);
  });
});
