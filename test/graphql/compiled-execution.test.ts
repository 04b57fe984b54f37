import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Compiled Corp');
  await server.graphql('mutation { createFeedbackSource(input: { name: "Intercom chat" }) { __typename } }', {}, token);
});

afterAll(() => server?.close());

/** Queries run compiled and cached by document: what they answer must not depend on what ran before. */
describe('compiled execution', () => {
  const document = `query Sources { feedbackSources { edges { node { name } } } }
    query Viewer { viewer { organization { name } } }`;

  it.each(['Sources', 'Viewer', 'Sources', 'Viewer'])('answers operation %s of a two-operation document, whatever ran before', async (operationName) => {
    const reply = await send<{ data: Record<string, unknown> }>(server.url, {
      method: 'POST',
      path: '/graphql',
      headers: { 'x-api-token': token },
      json: { query: document, operationName },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual(
      operationName === 'Sources' ? { feedbackSources: { edges: [{ node: { name: 'Intercom chat' } }] } } : { viewer: { organization: { name: 'Compiled Corp' } } },
    );
  });

  it('answers the same query the same way twice, the second time from the compiled cache', async () => {
    const query = '{ feedbackSources(first: 1) { edges { node { name recordCount } } pageInfo { hasNextPage } } }';
    const first = await server.graphql(query, {}, token);
    const second = await server.graphql(query, {}, token);
    expect(first.body).toEqual({ data: { feedbackSources: { edges: [{ node: { name: 'Intercom chat', recordCount: 0 } }], pageInfo: { hasNextPage: false } } } });
    expect(second.body).toEqual(first.body);
  });

  it('coerces variables of a compiled query and refuses one of the wrong type with 400 INVALID_GRAPHQL_REQUEST', async () => {
    const query = 'query ($first: Int) { feedbackSources(first: $first) { edges { node { name } } } }';
    expect((await server.graphql(query, { first: 1 }, token)).status).toBe(200);
    const refused = await server.graphql(query, { first: 'one' }, token);
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_GRAPHQL_REQUEST' });
  });

  it('answers a mutation of one root field (compiled) as a document of two (interpreted) answers each: a success, then a refusal in the payload', async () => {
    const selection = `__typename ... on CreateFeedbackSourceSuccess { feedbackSource { name } } ... on Error { code message param }`;
    const create = (name: string) => `createFeedbackSource(input: { name: ${JSON.stringify(name)} }) { ${selection} }`;
    const tooLong = 'x'.repeat(1_000);
    const single = [await server.graphql(`mutation { ${create('Zendesk')} }`, {}, token), await server.graphql(`mutation { ${create(tooLong)} }`, {}, token)];
    const pair = await server.graphql<{ first: unknown; second: unknown }>(`mutation { first: ${create('Zendesk 2')} second: ${create(tooLong)} }`, {}, token);
    expect(single.map((reply) => reply.status)).toEqual([200, 200]);
    expect(single[0]?.body).toEqual({ data: { createFeedbackSource: { __typename: 'CreateFeedbackSourceSuccess', feedbackSource: { name: 'Zendesk' } } } });
    expect(pair.body.data?.first).toEqual({ __typename: 'CreateFeedbackSourceSuccess', feedbackSource: { name: 'Zendesk 2' } });
    expect(single[1]?.body.data?.createFeedbackSource).toEqual(pair.body.data?.second);
    expect(pair.body.data?.second).toMatchObject({ __typename: 'ValidationError', code: 'INVALID_FIELD_VALUE', param: 'name' });
  });

  it.each([
    ['the default introspection query', getIntrospectionQuery()],
    ["GraphiQL's introspection query", getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, schemaDescription: true, specifiedByUrl: true, directiveIsRepeatable: true, oneOf: true })],
  ])('answers %s whole, without errors', async (_name, query) => {
    const reply = await server.graphql<{ __schema: { queryType: { name: string }; types: { name: string }[] } }>(query, {}, token);
    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data?.__schema.queryType.name).toBe('Query');
    expect(reply.body.data?.__schema.types.map((type) => type.name)).toContain('FeedbackRecord');
  });
});
