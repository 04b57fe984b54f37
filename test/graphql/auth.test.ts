import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/organizations/api-key.entity.ts';
import { type Scope, scopes as allScopes } from '../../src/organizations/scopes.ts';
import { hashToken } from '../../src/organizations/tokens.ts';
import { expectGraphQLErrorEnvelope, send, type UnionMember } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let token: string;

const viewerQuery = '{ viewer { organization { name } scopes } }';

interface Viewer {
  viewer: { organization: { name: string }; scopes: string[] };
}

function allScopesExcept(scope: Scope): Scope[] {
  return allScopes.filter((other) => other !== scope);
}

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('Acme Corp');
});

afterAll(() => server.close());

describe('authentication on /graphql', () => {
  it('answers 401 API_TOKEN_MISSING when no token is sent', async () => {
    const response = await server.graphql(viewerQuery);
    expectGraphQLErrorEnvelope(response, { status: 401, type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
  });

  it('answers 401 API_TOKEN_MISSING for a data field queried without a token, and returns no data', async () => {
    const response = await server.graphql('{ feedbackSources { edges { node { id } } } }');
    expect(response.body.data).toEqual({ feedbackSources: null });
    expectGraphQLErrorEnvelope(response, { status: 401, type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
  });

  it('answers 401 API_TOKEN_INVALID when the token is unknown', async () => {
    const response = await server.graphql(viewerQuery, {}, 'fgw_this-token-was-never-issued');
    expectGraphQLErrorEnvelope(response, { status: 401, type: 'authentication_error', code: 'API_TOKEN_INVALID', param: null });
  });

  it('answers 401 API_TOKEN_EXPIRED when the token has expired', async () => {
    const expired = await server.createToken('Acme Corp', { expiresAt: new Date(Date.now() - 60_000) });
    const response = await server.graphql(viewerQuery, {}, expired);
    expectGraphQLErrorEnvelope(response, { status: 401, type: 'authentication_error', code: 'API_TOKEN_EXPIRED', param: null });
  });

  it('accepts a token whose expiry is still in the future', async () => {
    const valid = await server.createToken('Acme Corp', { expiresAt: new Date(Date.now() + 3_600_000) });
    const response = await server.graphql<Viewer>(viewerQuery, {}, valid);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.viewer.organization.name).toBe('Acme Corp');
  });

  it('answers 401 API_TOKEN_REVOKED when the token has been revoked', async () => {
    const revoked = await server.createToken('Acme Corp');
    const em = server.orm.em.fork();
    const key = await em.findOneOrFail(ApiKey, { tokenHash: hashToken(revoked) });
    key.revokedAt = new Date();
    await em.flush();

    const response = await server.graphql(viewerQuery, {}, revoked);
    expectGraphQLErrorEnvelope(response, { status: 401, type: 'authentication_error', code: 'API_TOKEN_REVOKED', param: null });
  });

  it('answers 401 WRONG_AUTH_HEADER, suggesting x-api-token, when the token is sent in x-api-key', async () => {
    const response = await server.graphql(viewerQuery, {}, null, { 'x-api-key': token });
    const error = expectGraphQLErrorEnvelope(response, { status: 401, type: 'authentication_error', code: 'WRONG_AUTH_HEADER', param: null });
    expect(error.suggestion).toEqual(expect.stringContaining('x-api-token'));
  });

  it('accepts the token in Authorization: Bearer', async () => {
    const response = await server.graphql<Viewer>(viewerQuery, {}, null, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.viewer.organization.name).toBe('Acme Corp');
  });

  it('answers 401 API_TOKEN_INVALID when the Bearer token is unknown', async () => {
    const response = await server.graphql(viewerQuery, {}, null, { authorization: 'Bearer fgw_unknown' });
    expectGraphQLErrorEnvelope(response, { status: 401, type: 'authentication_error', code: 'API_TOKEN_INVALID', param: null });
  });
});

describe('viewer', () => {
  it('returns the organization and the scopes of the token', async () => {
    const limited = await server.createToken('Viewer Org', { scopes: ['sources:read', 'records:read'] });
    const response = await server.graphql<Viewer>(viewerQuery, {}, limited);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.viewer.organization.name).toBe('Viewer Org');
    expect([...(response.body.data?.viewer.scopes ?? [])].sort()).toEqual(['records:read', 'sources:read']);
  });

  it('lists every scope for a token created without scopes', async () => {
    const response = await server.graphql<Viewer>(viewerQuery, {}, token);
    expect(response.status).toBe(200);
    expect([...(response.body.data?.viewer.scopes ?? [])].sort()).toEqual([...allScopes].sort());
  });
});

describe('scopes on queries', () => {
  it('answers 403 INSUFFICIENT_SCOPE naming sources:read when listing sources without it', async () => {
    const limited = await server.createToken('Acme Corp', { scopes: allScopesExcept('sources:read') });
    const response = await server.graphql('{ feedbackSources { edges { node { id } } } }', {}, limited);
    expect(response.body.data).toEqual({ feedbackSources: null });
    expectGraphQLErrorEnvelope(response, { status: 403, type: 'permission_error', code: 'INSUFFICIENT_SCOPE', param: null, message: 'sources:read' });
  });

  it('answers 403 INSUFFICIENT_SCOPE naming people:read when listing people without it', async () => {
    const limited = await server.createToken('Acme Corp', { scopes: allScopesExcept('people:read') });
    const response = await server.graphql('{ people { edges { node { id } } } }', {}, limited);
    expectGraphQLErrorEnvelope(response, { status: 403, type: 'permission_error', code: 'INSUFFICIENT_SCOPE', param: null, message: 'people:read' });
  });

  it('answers 403 INSUFFICIENT_SCOPE naming records:read when listing records without it', async () => {
    const limited = await server.createToken('Acme Corp', { scopes: allScopesExcept('records:read') });
    const response = await server.graphql('{ records { edges { node { id } } } }', {}, limited);
    expectGraphQLErrorEnvelope(response, { status: 403, type: 'permission_error', code: 'INSUFFICIENT_SCOPE', param: null, message: 'records:read' });
  });
});

describe('scopes on mutations', () => {
  const errorFields = '__typename ... on Error { type code message requestId }';
  let sourceId: string;
  let personId: string;
  let recordId: string;
  const fields = [{ category: 'content', type: 'string', name: 'text', value: 'Checkout is slow' }];

  beforeAll(async () => {
    const source = await server.graphql<{ createFeedbackSource: { feedbackSource: { id: string } } }>(
      'mutation { createFeedbackSource(input: { name: "Scope checks" }) { ... on CreateFeedbackSourceSuccess { feedbackSource { id } } } }',
      {},
      token,
    );
    const person = await server.graphql<{ upsertPerson: { person: { id: string } } }>(
      'mutation { upsertPerson(input: { email: "scoped@example.com" }) { ... on UpsertPersonSuccess { person { id } } } }',
      {},
      token,
    );
    sourceId = String(source.body.data?.createFeedbackSource.feedbackSource.id);
    personId = String(person.body.data?.upsertPerson.person.id);
    const record = await server.graphql<{ ingestRecord: { record: { id: string } } }>(
      'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { ... on IngestRecordSuccess { record { id } } } }',
      { sourceId, input: { fields } },
      token,
    );
    recordId = String(record.body.data?.ingestRecord.record.id);
    expect([sourceId, personId, recordId]).not.toContain('undefined');
  });

  const cases: { mutation: string; scope: Scope; query: string; variables: () => Record<string, unknown> }[] = [
    {
      mutation: 'createFeedbackSource',
      scope: 'sources:write',
      query: `mutation { createFeedbackSource(input: { name: "Not allowed" }) { ${errorFields} } }`,
      variables: () => ({}),
    },
    {
      mutation: 'updateFeedbackSource',
      scope: 'sources:write',
      query: `mutation ($id: ID!) { updateFeedbackSource(id: $id, input: { name: "Renamed without scope" }) { ${errorFields} } }`,
      variables: () => ({ id: sourceId }),
    },
    {
      mutation: 'deleteFeedbackSource',
      scope: 'sources:write',
      query: `mutation ($id: ID!) { deleteFeedbackSource(id: $id, cascade: true) { ${errorFields} } }`,
      variables: () => ({ id: sourceId }),
    },
    {
      mutation: 'upsertPerson',
      scope: 'people:write',
      query: `mutation { upsertPerson(input: { email: "someone.else@example.com" }) { ${errorFields} } }`,
      variables: () => ({}),
    },
    {
      mutation: 'deletePerson',
      scope: 'people:write',
      query: `mutation ($id: ID!) { deletePerson(id: $id) { ${errorFields} } }`,
      variables: () => ({ id: personId }),
    },
    {
      mutation: 'ingestRecord',
      scope: 'records:write',
      query: `mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { ${errorFields} } }`,
      variables: () => ({ sourceId, input: { fields } }),
    },
    {
      mutation: 'ingestRecords',
      scope: 'records:write',
      query: `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) { ingestRecords(sourceId: $sourceId, records: $records) { ${errorFields} } }`,
      variables: () => ({ sourceId, records: [{ fields }] }),
    },
    {
      mutation: 'deleteRecord',
      scope: 'records:write',
      query: `mutation ($id: ID!) { deleteRecord(id: $id) { ${errorFields} } }`,
      variables: () => ({ id: recordId }),
    },
  ];

  it.each(cases)('answers PermissionError INSUFFICIENT_SCOPE naming $scope for $mutation without it', async ({ mutation, scope, query, variables }) => {
    const limited = await server.createToken('Acme Corp', { scopes: allScopesExcept(scope) });
    const response = await server.graphql<Record<string, UnionMember>>(query, variables(), limited);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    const payload = response.body.data?.[mutation];
    expect(payload).toMatchObject({
      __typename: 'PermissionError',
      type: 'permission_error',
      code: 'INSUFFICIENT_SCOPE',
      requestId: response.headers.get('x-request-id'),
    });
    expect(payload?.message).toEqual(expect.stringContaining(scope));
  });

  it('changes nothing when a mutation is refused for a missing scope', async () => {
    const limited = await server.createToken('Acme Corp', { scopes: allScopesExcept('sources:write') });
    await server.graphql(`mutation ($id: ID!) { deleteFeedbackSource(id: $id, cascade: true) { ${errorFields} } }`, { id: sourceId }, limited);
    const response = await server.graphql<{ feedbackSource: { id: string; recordCount: number } | null }>(
      'query ($id: ID!) { feedbackSource(id: $id) { id recordCount } }',
      { id: sourceId },
      token,
    );
    expect(response.body.data?.feedbackSource).toEqual({ id: sourceId, recordCount: 1 });
  });
});

describe('public parts of /graphql', () => {
  it('answers schema introspection without a token', async () => {
    const response = await server.graphql<{ __schema: { queryType: { name: string } } }>('{ __schema { queryType { name } } }');
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.__schema.queryType.name).toBe('Query');
  });

  it('serves the GraphiQL page to a browser without a token', async () => {
    const response = await send(server.url, { path: '/graphql', headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = response.text;
    expect(html).toMatch(/<html/i);
    expect(html).toMatch(/graphiql/i);
  });
});
