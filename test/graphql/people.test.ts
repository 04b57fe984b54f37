import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Company } from '../../src/people/company.entity.ts';
import { Person } from '../../src/people/person.entity.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import type { UnionMember } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

interface CompanyData {
  id: string;
  name: string;
  domain: string | null;
}

interface PersonData {
  id: string;
  email: string | null;
  externalId: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  boundary: string;
  companyId: string | null;
  company: CompanyData | null;
  createdAt: string;
  updatedAt: string;
}

/** A union member: the success type's fields or those of an Error type. */
interface Payload extends UnionMember {
  created?: boolean;
  person?: PersonData;
}

const PERSON = 'id email externalId firstName lastName phone boundary companyId company { id name domain } createdAt updatedAt';
const ERROR = '... on Error { type code message param retryable } ... on ValidationError { errors { param code message } }';

const UPSERT = `mutation ($input: UpsertPersonInput!) {
  upsertPerson(input: $input) { __typename ... on UpsertPersonSuccess { created person { ${PERSON} } } ${ERROR} }
}`;
const DELETE = `mutation ($id: ID!) { deletePerson(id: $id) { __typename ... on DeletePersonSuccess { id deleted } ${ERROR} } }`;
const GET = `query ($id: ID!) { person(id: $id) { ${PERSON} } }`;
const LIST = `query ($first: Int, $after: String, $email: String) {
  people(first: $first, after: $after, email: $email) { edges { cursor node { id email } } pageInfo { hasNextPage endCursor } }
}`;

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.createToken('people');
});

afterAll(() => server.close());

async function upsert(input: Record<string, unknown>, as = token): Promise<Payload> {
  const response = await server.graphql<{ upsertPerson: Payload }>(UPSERT, { input }, as);
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
  return response.body.data?.upsertPerson as Payload;
}

async function upsertPerson(input: Record<string, unknown>, as = token): Promise<PersonData> {
  const payload = await upsert(input, as);
  expect(payload.__typename).toBe('UpsertPersonSuccess');
  return payload.person as PersonData;
}

async function getPerson(id: string, as = token) {
  return await server.graphql<{ person: PersonData | null }>(GET, { id }, as);
}

async function countPeople(where: Record<string, unknown>): Promise<number> {
  return await server.orm.em.fork().count(Person, where);
}

/** A REST example body (snake_case) as the GraphQL input (camelCase). */
function camelCase(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(body)
      .filter(([key]) => key !== '_expect')
      .map(([key, value]) => [key.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase()), value]),
  );
}

async function example(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(new URL(`../fixtures/examples/${name}.json`, import.meta.url), 'utf8'));
}

describe('upsertPerson: creating and matching', () => {
  it('creates the person of the support-tickets example and answers created: true', async () => {
    const body = await example('support-tickets');
    const payload = await upsert(camelCase(body.person as Record<string, unknown>));
    expect(payload.__typename).toBe('UpsertPersonSuccess');
    expect(payload.created).toBe(true);
    expect(payload.person).toMatchObject({
      email: 'maria.garcia@northwind.example',
      externalId: null,
      firstName: 'María',
      lastName: 'García',
      phone: '+34912345678',
      boundary: 'external',
      company: { name: 'Northwind Traders', domain: 'northwind.example' },
    });
    expect(payload.person?.companyId).toBe(payload.person?.company?.id);
    expect(payload.person?.id).toMatch(/^[1-9]\d*$/);
  });

  it('updates the person matched by externalId and answers created: false', async () => {
    const first = await upsert({ externalId: 'crm-000981', email: 'dev.lead@acme.example', firstName: 'Sam' });
    const second = await upsert({ externalId: 'crm-000981', firstName: 'Samantha' });
    expect(first.created).toBe(true);
    expect(second.__typename).toBe('UpsertPersonSuccess');
    expect(second.created).toBe(false);
    expect(second.person?.id).toBe(first.person?.id);
    expect(second.person?.firstName).toBe('Samantha');
    expect(await countPeople({ externalId: 'crm-000981' })).toBe(1);
  });

  it('matches by email case-insensitively (Maria@X.example, then maria@x.example)', async () => {
    const first = await upsert({ email: 'Maria@X.example', firstName: 'Maria' });
    const second = await upsert({ email: 'maria@x.example', lastName: 'Lopez' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.person?.id).toBe(first.person?.id);
    expect(second.person?.firstName).toBe('Maria');
    expect(second.person?.lastName).toBe('Lopez');
    expect(await countPeople({ email: { $ilike: 'maria@x.example' } })).toBe(1);
  });

  it('creates another person for another email', async () => {
    const first = await upsertPerson({ email: 'one@distinct.example' });
    const second = await upsert({ email: 'two@distinct.example' });
    expect(second.created).toBe(true);
    expect(second.person?.id).not.toBe(first.id);
  });

  it('adds an externalId to a person first known only by email', async () => {
    const byEmail = await upsertPerson({ email: 'adopt@acme.example' });
    const payload = await upsert({ externalId: 'crm-adopt', email: 'adopt@acme.example' });
    expect(payload.created).toBe(false);
    expect(payload.person?.id).toBe(byEmail.id);
    expect(payload.person?.externalId).toBe('crm-adopt');
  });

  it('keeps people of another organization apart: the same email creates a new person there', async () => {
    const other = await server.createToken('people-other-org');
    const mine = await upsertPerson({ email: 'shared@both.example' });
    const payload = await upsert({ email: 'shared@both.example' }, other);
    expect(payload.created).toBe(true);
    expect(payload.person?.id).not.toBe(mine.id);
  });
});

describe('upsertPerson: absent keys and null', () => {
  it('keeps the value of every key absent from the input', async () => {
    const created = await upsertPerson({
      email: 'keep@acme.example',
      externalId: 'crm-keep',
      firstName: 'Kim',
      lastName: 'Park',
      phone: '+14155550123',
      boundary: 'internal',
      company: { name: 'Keep Corp', domain: 'keep.example' },
    });
    const updated = await upsertPerson({ externalId: 'crm-keep', firstName: 'Kimberly' });
    expect(updated).toMatchObject({
      id: created.id,
      email: 'keep@acme.example',
      externalId: 'crm-keep',
      firstName: 'Kimberly',
      lastName: 'Park',
      phone: '+14155550123',
      boundary: 'internal',
      companyId: created.companyId,
    });
  });

  it('clears lastName when it is sent as null', async () => {
    await upsertPerson({ email: 'clear@acme.example', firstName: 'Ana', lastName: 'Silva' });
    const updated = await upsertPerson({ email: 'clear@acme.example', lastName: null });
    expect(updated.lastName).toBeNull();
    expect(updated.firstName).toBe('Ana');
  });

  it('clears phone when it is sent as null', async () => {
    await upsertPerson({ email: 'clear-phone@acme.example', phone: '+14155550123' });
    const updated = await upsertPerson({ email: 'clear-phone@acme.example', phone: null });
    expect(updated.phone).toBeNull();
  });

  it('stores the cleared value: a fresh read shows lastName null', async () => {
    const person = await upsertPerson({ email: 'clear-read@acme.example', lastName: 'Silva' });
    await upsertPerson({ email: 'clear-read@acme.example', lastName: null });
    const stored = await server.orm.em.fork().findOneOrFail(Person, { id: Number(person.id) });
    expect(stored.lastName).toBeNull();
  });
});

describe('upsertPerson: validation', () => {
  it('answers ValidationError when neither externalId nor email is given, and creates no one', async () => {
    const before = await countPeople({});
    const payload = await upsert({ firstName: 'Nobody' });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'externalId', retryable: false });
    expect(payload.errors).toEqual([{ param: 'externalId', code: 'INVALID_FIELD_VALUE', message: expect.any(String) }]);
    expect(await countPeople({})).toBe(before);
  });

  it('answers ValidationError when externalId and email are both null', async () => {
    const payload = await upsert({ externalId: null, email: null, firstName: 'Nobody' });
    expect(payload.__typename).toBe('ValidationError');
    expect(payload.type).toBe('validation_error');
  });

  it.each(['not-an-email', 'maria@', '@northwind.example', 'maria garcia@northwind.example'])(
    'answers INVALID_EMAIL at param email for %s, naming the value',
    async (email) => {
      const payload = await upsert({ email });
      expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_EMAIL', param: 'email' });
      expect(payload.message).toContain(email);
      expect(payload.errors).toEqual([{ param: 'email', code: 'INVALID_EMAIL', message: expect.stringContaining(email) }]);
      expect(await countPeople({ email })).toBe(0);
    },
  );

  it('answers INVALID_PHONE_NUMBER at param phone for the invalid-person example, naming +1 (415) 555-0123', async () => {
    const payload = await upsert(camelCase(await example('invalid-person')));
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_PHONE_NUMBER', param: 'phone', retryable: false });
    expect(payload.message).toContain('+1 (415) 555-0123');
    expect(payload.errors).toEqual([{ param: 'phone', code: 'INVALID_PHONE_NUMBER', message: expect.stringContaining('+1 (415) 555-0123') }]);
    expect(await countPeople({ email: 'someone@example.com' })).toBe(0);
  });

  it.each(['+1-415-555-0123', '14155550123', '004155550123', '+1 4155550123', '+0123456789', '+', '+1234567890123456'])(
    'answers INVALID_PHONE_NUMBER for %s, which is not E.164',
    async (phone) => {
      const payload = await upsert({ email: 'phone@acme.example', phone });
      expect(payload).toMatchObject({ __typename: 'ValidationError', code: 'INVALID_PHONE_NUMBER', param: 'phone' });
      expect(payload.message).toContain(phone);
    },
  );

  it.each(['+34912345678', '+14155550123', '+442071838750'])('accepts the E.164 number %s and stores it as given', async (phone) => {
    const person = await upsertPerson({ email: `e164${phone.slice(1)}@acme.example`, phone });
    expect(person.phone).toBe(phone);
  });

  it('reports every failing field at once with VALIDATION_FAILED', async () => {
    const payload = await upsert({ email: 'nope', phone: '555-0123', boundary: 'other' });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'VALIDATION_FAILED', param: null });
    expect(payload.errors?.map((error) => [error.param, error.code]).sort()).toEqual([
      ['boundary', 'INVALID_FIELD_VALUE'],
      ['email', 'INVALID_EMAIL'],
      ['phone', 'INVALID_PHONE_NUMBER'],
    ]);
  });

  it('leaves the stored person unchanged when an update is rejected', async () => {
    const person = await upsertPerson({ email: 'unchanged@acme.example', phone: '+14155550123', firstName: 'Una' });
    const payload = await upsert({ email: 'unchanged@acme.example', phone: '415 555', firstName: 'Changed' });
    expect(payload.__typename).toBe('ValidationError');
    const stored = await getPerson(person.id);
    expect(stored.body.data?.person).toMatchObject({ phone: '+14155550123', firstName: 'Una' });
  });
});

describe('upsertPerson: boundary', () => {
  it('defaults boundary to external', async () => {
    const person = await upsertPerson({ email: 'default-boundary@acme.example' });
    expect(person.boundary).toBe('external');
  });

  it('accepts boundary internal', async () => {
    const person = await upsertPerson({ email: 'internal@acme.example', boundary: 'internal' });
    expect(person.boundary).toBe('internal');
  });

  it('accepts boundary external', async () => {
    const person = await upsertPerson({ email: 'external@acme.example', boundary: 'external' });
    expect(person.boundary).toBe('external');
  });

  it('answers INVALID_FIELD_VALUE at param boundary for other, naming the value', async () => {
    const payload = await upsert({ email: 'other-boundary@acme.example', boundary: 'other' });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'boundary' });
    expect(payload.message).toContain('other');
    expect(await countPeople({ email: 'other-boundary@acme.example' })).toBe(0);
  });

  it('keeps boundary internal when a later upsert does not send it', async () => {
    await upsertPerson({ email: 'stays-internal@acme.example', boundary: 'internal' });
    const person = await upsertPerson({ email: 'stays-internal@acme.example', firstName: 'Ines' });
    expect(person.boundary).toBe('internal');
  });
});

describe('upsertPerson: company', () => {
  it('upserts the company by domain: another name with the same domain renames the same company', async () => {
    const first = await upsertPerson({ email: 'a@initech.example', company: { name: 'Initech', domain: 'initech.example' } });
    const second = await upsertPerson({ email: 'b@initech.example', company: { name: 'Initech Corporation', domain: 'initech.example' } });
    expect(second.company?.id).toBe(first.company?.id);
    expect(second.company).toEqual({ id: first.company?.id, name: 'Initech Corporation', domain: 'initech.example' });
    const reread = await getPerson(first.id);
    expect(reread.body.data?.person?.company?.name).toBe('Initech Corporation');
    expect(await server.orm.em.fork().count(Company, { domain: 'initech.example' })).toBe(1);
  });

  it('upserts the company by name when no domain is given: two people of Globex share one company', async () => {
    const first = await upsertPerson({ email: 'ops@globex.example', firstName: 'Kenji', company: { name: 'Globex' } });
    const second = await upsertPerson({ email: 'cto@globex.example', company: { name: 'Globex' } });
    expect(first.company).toEqual({ id: expect.any(String), name: 'Globex', domain: null });
    expect(second.companyId).toBe(first.companyId);
    expect(await server.orm.em.fork().count(Company, { name: 'Globex' })).toBe(1);
  });

  it('links people of different companies to different companies', async () => {
    const first = await upsertPerson({ email: 'x@umbrella.example', company: { name: 'Umbrella' } });
    const second = await upsertPerson({ email: 'x@hooli.example', company: { name: 'Hooli' } });
    expect(second.companyId).not.toBe(first.companyId);
  });

  it('unlinks the company when company is null, and keeps the company', async () => {
    const person = await upsertPerson({ email: 'unlink@vandelay.example', company: { name: 'Vandelay', domain: 'vandelay.example' } });
    const updated = await upsertPerson({ email: 'unlink@vandelay.example', company: null });
    expect(updated.companyId).toBeNull();
    expect(updated.company).toBeNull();
    expect(await server.orm.em.fork().count(Company, { id: Number(person.companyId) })).toBe(1);
  });

  it('keeps the company link when company is absent', async () => {
    const person = await upsertPerson({ email: 'keep-link@vandelay.example', company: { name: 'Vandelay Industries', domain: 'vandelay-industries.example' } });
    const updated = await upsertPerson({ email: 'keep-link@vandelay.example', firstName: 'Art' });
    expect(updated.companyId).toBe(person.companyId);
    expect(updated.company?.name).toBe('Vandelay Industries');
  });

  it('answers ValidationError at param company.name for an empty company name', async () => {
    const payload = await upsert({ email: 'empty-company@acme.example', company: { name: '' } });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'company.name' });
  });

  it('answers ValidationError at param company.domain for a domain that is not one', async () => {
    const payload = await upsert({ email: 'bad-domain@acme.example', company: { name: 'Bad', domain: 'not a domain' } });
    expect(payload).toMatchObject({ __typename: 'ValidationError', type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'company.domain' });
  });
});

describe('person(id)', () => {
  it('returns the person with their company', async () => {
    const created = await upsertPerson({ email: 'read@acme.example', firstName: 'Rae', company: { name: 'Read Corp', domain: 'read.example' } });
    const response = await getPerson(created.id);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.person).toEqual(created);
  });

  it('answers PERSON_NOT_FOUND for an id that does not exist', async () => {
    const response = await getPerson('999999');
    expect(response.status).toBe(200);
    expect(response.body.data?.person).toBeNull();
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.path).toEqual(['person']);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'id', retryable: false });
    expect(response.body.errors?.[0]?.message).toContain('999999');
  });

  it('answers PERSON_NOT_FOUND for a person of another organization', async () => {
    const person = await upsertPerson({ email: 'private@acme.example' });
    const other = await server.createToken('people-stranger');
    const response = await getPerson(person.id, other);
    expect(response.body.data?.person).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'not_found_error', code: 'PERSON_NOT_FOUND' });
  });

  it('answers INVALID_ID for an id that is not a positive integer', async () => {
    const response = await getPerson('abc');
    expect(response.body.data?.person).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'validation_error', code: 'INVALID_ID', param: 'id' });
  });
});

describe('people', () => {
  let listToken: string;
  const created: PersonData[] = [];

  beforeAll(async () => {
    listToken = await server.createToken('people-listing');
    for (let i = 0; i < 7; i++) created.push(await upsertPerson({ email: `listed${i}@list.example` }, listToken));
  });

  async function list(variables: Record<string, unknown>) {
    const response = await server.graphql<{ people: { edges: { cursor: string; node: { id: string; email: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
      LIST,
      variables,
      listToken,
    );
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    return response.body.data?.people as NonNullable<typeof response.body.data>['people'];
  }

  it('lists the organization\'s people newest first', async () => {
    const page = await list({});
    expect(page.edges.map((edge) => edge.node.id)).toEqual(created.map((person) => person.id).reverse());
    expect(page.pageInfo.hasNextPage).toBe(false);
  });

  it('pages with first and after, covering every person exactly once in order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await list({ first: 3, after });
      expect(page.edges.length).toBeLessThanOrEqual(3);
      seen.push(...page.edges.map((edge) => edge.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages++;
    } while (after && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(created.map((person) => person.id).reverse());
  });

  it('answers hasNextPage true when more people follow', async () => {
    const page = await list({ first: 2 });
    expect(page.edges).toHaveLength(2);
    expect(page.pageInfo.hasNextPage).toBe(true);
  });

  it('filters by email, case-insensitively', async () => {
    const page = await list({ email: 'LISTED3@List.Example' });
    expect(page.edges.map((edge) => edge.node.id)).toEqual([created[3]?.id]);
  });

  it('answers an empty list for an email nobody has', async () => {
    const page = await list({ email: 'nobody@list.example' });
    expect(page.edges).toEqual([]);
  });

  it('answers INVALID_CURSOR for a cursor the API did not return', async () => {
    const response = await server.graphql(LIST, { after: 'not-a-cursor' }, listToken);
    expect(response.status).toBe(200);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ type: 'validation_error', code: 'INVALID_CURSOR', param: 'after' });
  });
});

describe('Person.records', () => {
  it('lists the person\'s records, newest displayTs first', async () => {
    const person = await upsertPerson({ email: 'has-records@acme.example' });
    const source = await server.graphql<{ createFeedbackSource: { feedbackSource: { id: string } } }>(
      'mutation { createFeedbackSource(input: { name: "Person records", type: "chat" }) { ... on CreateFeedbackSourceSuccess { feedbackSource { id } } } }',
      {},
      token,
    );
    const sourceId = source.body.data?.createFeedbackSource.feedbackSource.id;
    const ingested = await server.graphql<{ ingestRecords: { results: { record: { id: string } }[] } }>(
      `mutation ($sourceId: ID!, $records: [IngestRecordInput!]!) {
        ingestRecords(sourceId: $sourceId, records: $records) { ... on IngestRecordsSuccess { results { ... on IngestRecordSuccess { record { id } } } } }
      }`,
      {
        sourceId,
        records: [
          { personId: person.id, displayTs: '2025-01-01T00:00:00Z', fields: [{ category: 'content', type: 'string', name: 'message', value: 'older' }] },
          { personId: person.id, displayTs: '2025-03-01T00:00:00Z', fields: [{ category: 'content', type: 'string', name: 'message', value: 'newer' }] },
          { displayTs: '2025-02-01T00:00:00Z', fields: [{ category: 'content', type: 'string', name: 'message', value: 'someone else' }] },
        ],
      },
      token,
    );
    const [older, newer] = ingested.body.data?.ingestRecords.results ?? [];
    const response = await server.graphql<{ person: { records: { edges: { node: { id: string; personId: string } }[] } } }>(
      'query ($id: ID!) { person(id: $id) { records { edges { node { id personId } } } } }',
      { id: person.id },
      token,
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.person.records.edges.map((edge) => edge.node)).toEqual([
      { id: newer?.record.id, personId: person.id },
      { id: older?.record.id, personId: person.id },
    ]);
  });

  it('answers an empty connection for a person without records', async () => {
    const person = await upsertPerson({ email: 'no-records@acme.example' });
    const response = await server.graphql<{ person: { records: { edges: unknown[]; pageInfo: { hasNextPage: boolean } } } }>(
      'query ($id: ID!) { person(id: $id) { records { edges { node { id } } pageInfo { hasNextPage } } } }',
      { id: person.id },
      token,
    );
    expect(response.body.data?.person.records).toEqual({ edges: [], pageInfo: { hasNextPage: false } });
  });
});

describe('deletePerson', () => {
  it('answers DeletePersonSuccess with the id and deleted: true, and the person is gone', async () => {
    const person = await upsertPerson({ email: 'delete-me@acme.example' });
    const response = await server.graphql<{ deletePerson: Payload }>(DELETE, { id: person.id }, token);
    expect(response.status).toBe(200);
    expect(response.body.data?.deletePerson).toEqual({ __typename: 'DeletePersonSuccess', id: person.id, deleted: true });
    expect(await countPeople({ id: Number(person.id) })).toBe(0);
    const reread = await getPerson(person.id);
    expect(reread.body.errors?.[0]?.extensions).toMatchObject({ code: 'PERSON_NOT_FOUND' });
  });

  it('keeps the person\'s records, with personId null', async () => {
    const person = await upsertPerson({ email: 'leaves-records@acme.example' });
    const source = await server.graphql<{ createFeedbackSource: { feedbackSource: { id: string } } }>(
      'mutation { createFeedbackSource(input: { name: "Deleted person records" }) { ... on CreateFeedbackSourceSuccess { feedbackSource { id } } } }',
      {},
      token,
    );
    const sourceId = source.body.data?.createFeedbackSource.feedbackSource.id;
    const ingested = await server.graphql<{ ingestRecord: { record: { id: string; personId: string } } }>(
      `mutation ($sourceId: ID!, $input: IngestRecordInput!) {
        ingestRecord(sourceId: $sourceId, input: $input) { ... on IngestRecordSuccess { record { id personId } } }
      }`,
      { sourceId, input: { personId: person.id, fields: [{ category: 'content', type: 'string', name: 'message', value: 'hello' }] } },
      token,
    );
    const recordId = ingested.body.data?.ingestRecord.record.id as string;
    expect(ingested.body.data?.ingestRecord.record.personId).toBe(person.id);

    const deleted = await server.graphql<{ deletePerson: Payload }>(DELETE, { id: person.id }, token);
    expect(deleted.body.data?.deletePerson.__typename).toBe('DeletePersonSuccess');

    const record = await server.graphql<{ record: { id: string; personId: string | null; person: unknown } }>(
      'query ($id: ID!) { record(id: $id) { id personId person { id } } }',
      { id: recordId },
      token,
    );
    expect(record.body.errors).toBeUndefined();
    expect(record.body.data?.record).toEqual({ id: recordId, personId: null, person: null });
    expect(await server.orm.em.fork().count(FeedbackRecord, { id: Number(recordId), person: null })).toBe(1);
  });

  it('answers NotFoundError PERSON_NOT_FOUND for an unknown person id', async () => {
    const response = await server.graphql<{ deletePerson: Payload }>(DELETE, { id: '999999' }, token);
    expect(response.status).toBe(200);
    expect(response.body.data?.deletePerson).toMatchObject({ __typename: 'NotFoundError', type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'id', retryable: false });
    expect(response.body.data?.deletePerson.message).toContain('999999');
  });

  it('answers NotFoundError PERSON_NOT_FOUND for a person of another organization, and keeps them', async () => {
    const person = await upsertPerson({ email: 'not-yours@acme.example' });
    const other = await server.createToken('people-deleter');
    const response = await server.graphql<{ deletePerson: Payload }>(DELETE, { id: person.id }, other);
    expect(response.body.data?.deletePerson).toMatchObject({ __typename: 'NotFoundError', code: 'PERSON_NOT_FOUND' });
    expect(await countPeople({ id: Number(person.id) })).toBe(1);
  });

  it('answers PERSON_NOT_FOUND when the person was already deleted', async () => {
    const person = await upsertPerson({ email: 'twice@acme.example' });
    await server.graphql(DELETE, { id: person.id }, token);
    const response = await server.graphql<{ deletePerson: Payload }>(DELETE, { id: person.id }, token);
    expect(response.body.data?.deletePerson).toMatchObject({ __typename: 'NotFoundError', code: 'PERSON_NOT_FOUND' });
  });
});

describe('concurrent upserts', () => {
  it('10 concurrent upserts of the same new email all succeed, exactly one created, one row', async () => {
    const email = 'race@concurrent.example';
    const payloads = await Promise.all(Array.from({ length: 10 }, (_, i) => upsert({ email, firstName: `Racer ${i}` })));
    expect(payloads.map((payload) => payload.__typename)).toEqual(Array(10).fill('UpsertPersonSuccess'));
    expect(payloads.filter((payload) => payload.created === true)).toHaveLength(1);
    expect(new Set(payloads.map((payload) => payload.person?.id)).size).toBe(1);
    expect(await countPeople({ email: { $ilike: email } })).toBe(1);
  });

  it('10 concurrent upserts of the same new externalId all succeed, exactly one created, one row', async () => {
    const externalId = 'crm-race';
    const payloads = await Promise.all(Array.from({ length: 10 }, (_, i) => upsert({ externalId, firstName: `Racer ${i}` })));
    expect(payloads.map((payload) => payload.__typename)).toEqual(Array(10).fill('UpsertPersonSuccess'));
    expect(payloads.filter((payload) => payload.created === true)).toHaveLength(1);
    expect(await countPeople({ externalId })).toBe(1);
  });

  it('10 concurrent upserts naming the same new company by name link one company', async () => {
    const people = await Promise.all(Array.from({ length: 10 }, (_, i) => upsertPerson({ email: `staff${i}@wonka.example`, company: { name: 'Wonka' } })));
    expect(new Set(people.map((person) => person.companyId)).size).toBe(1);
    expect(await server.orm.em.fork().count(Company, { name: 'Wonka' })).toBe(1);
  });
});
