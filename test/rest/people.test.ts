import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Company } from '../../src/people/company.entity.ts';
import { Person } from '../../src/people/person.entity.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { expectErrorEnvelope, RestClient } from '../helpers/http.ts';
import { loadExample, type RestDeleted, type RestPage, type RestPerson, type RestRecord, textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RFC3339_UTC } from '../helpers/spec.ts';

let server: TestServer;
let api: RestClient;

beforeAll(async () => {
  server = await startTestServer();
  api = new RestClient(server.url, await server.createToken('Acme Corp'));
});

afterAll(() => server.close());

function countPeople(where: { email?: string; id?: number } = {}): Promise<number> {
  return server.orm.em.fork().count(Person, where);
}

function countCompanies(): Promise<number> {
  return server.orm.em.fork().count(Company, {});
}

describe('PUT /people', () => {
  it('answers 201 with every field of the person and their company when the person is new', async () => {
    const response = await api.put<RestPerson>('/people', {
      email: 'maria.garcia@northwind.example',
      external_id: 'crm-1',
      first_name: 'María',
      last_name: 'García',
      phone: '+34912345678',
      boundary: 'external',
      company: { name: 'Northwind Traders', domain: 'northwind.example' },
    });
    expect(response.status).toBe(201);
    const person = response.body;
    expect(Object.keys(person).sort()).toEqual(['boundary', 'company', 'company_id', 'created_at', 'email', 'external_id', 'first_name', 'id', 'last_name', 'phone', 'updated_at']);
    expect(person).toMatchObject({
      email: 'maria.garcia@northwind.example',
      external_id: 'crm-1',
      first_name: 'María',
      last_name: 'García',
      phone: '+34912345678',
      boundary: 'external',
      company: { name: 'Northwind Traders', domain: 'northwind.example' },
    });
    expect(Number.isInteger(person.id)).toBe(true);
    expect(Number.isInteger(person.company_id)).toBe(true);
    expect(person.company?.id).toBe(person.company_id);
    expect(person.created_at).toMatch(RFC3339_UTC);
    expect(person.updated_at).toMatch(RFC3339_UTC);
  });

  it('stores the created person', async () => {
    const person = await api.upsertPerson({ email: 'stored@example.com', first_name: 'Stored' });
    const stored = await server.orm.em.fork().findOneOrFail(Person, { id: person.id });
    expect(stored).toMatchObject({ email: 'stored@example.com', firstName: 'Stored', boundary: 'external' });
  });

  it('defaults the boundary to external and leaves unsent keys null', async () => {
    const response = await api.put<RestPerson>('/people', { email: 'defaults@example.com' });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ boundary: 'external', external_id: null, first_name: null, last_name: null, phone: null, company_id: null, company: null });
  });

  it('accepts the boundary internal', async () => {
    const response = await api.put<RestPerson>('/people', { email: 'colleague@example.com', boundary: 'internal' });
    expect(response.status).toBe(201);
    expect(response.body.boundary).toBe('internal');
  });

  it('answers 200 and updates the same person when the email matches case-insensitively', async () => {
    const created = await api.upsertPerson({ email: 'case.match@example.com', first_name: 'Before' });
    const response = await api.put<RestPerson>('/people', { email: 'Case.Match@EXAMPLE.com', first_name: 'After' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: created.id, first_name: 'After' });
    expect(await countPeople({ id: created.id })).toBe(1);
  });

  it('answers 200 and updates the same person when the external_id matches, even with another email', async () => {
    const created = await api.upsertPerson({ external_id: 'crm-42', email: 'old@example.com' });
    const response = await api.put<RestPerson>('/people', { external_id: 'crm-42', email: 'new@example.com' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: created.id, external_id: 'crm-42', email: 'new@example.com' });
  });

  it('keeps the value of every key the body leaves out when updating', async () => {
    const created = await api.upsertPerson({
      external_id: 'crm-keep',
      email: 'keep@example.com',
      first_name: 'Kenji',
      last_name: 'Watanabe',
      phone: '+14155550123',
      boundary: 'internal',
      company: { name: 'Globex' },
    });
    const response = await api.put<RestPerson>('/people', { external_id: 'crm-keep', last_name: 'Tanaka' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ...created, last_name: 'Tanaka', updated_at: expect.stringMatching(RFC3339_UTC) });
  });

  it('clears a key sent as null', async () => {
    await api.upsertPerson({ email: 'clear@example.com', phone: '+14155550123' });
    const response = await api.put<RestPerson>('/people', { email: 'clear@example.com', phone: null });
    expect(response.status).toBe(200);
    expect(response.body.phone).toBeNull();
  });

  it('links people of the same company domain to one company', async () => {
    const first = await api.upsertPerson({ email: 'a@initech.example', company: { name: 'Initech', domain: 'initech.example' } });
    const second = await api.upsertPerson({ email: 'b@initech.example', company: { name: 'Initech Inc.', domain: 'initech.example' } });
    expect(second.company_id).toBe(first.company_id);
    expect(second.company).toEqual({ id: first.company_id, name: 'Initech Inc.', domain: 'initech.example' });
  });

  it('links people of the same company name, without a domain, to one company', async () => {
    const first = await api.upsertPerson({ email: 'a@umbrella.example', company: { name: 'Umbrella' } });
    const second = await api.upsertPerson({ email: 'b@umbrella.example', company: { name: 'Umbrella' } });
    expect(first.company_id).toEqual(expect.any(Number));
    expect(second.company_id).toBe(first.company_id);
  });

  it('answers 409 PERSON_EMAIL_TAKEN on email when another external_id claims the email of a person who has one', async () => {
    const owner = await api.upsertPerson({ external_id: 'crm-owner', email: 'owner@example.com' });
    const response = await api.put('/people', { external_id: 'crm-claimant', email: 'owner@example.com' });
    expectErrorEnvelope(response, { status: 409, type: 'conflict_error', code: 'PERSON_EMAIL_TAKEN', param: 'email', message: 'owner@example.com' });
    expect(await countPeople({ email: 'owner@example.com' })).toBe(1);
    expect(await countPeople({ id: owner.id })).toBe(1);
  });

  it("answers 400 INVALID_PHONE_NUMBER on phone, naming '+1 (415) 555-0123', for invalid-person.json", async () => {
    const body = await loadExample('invalid-person.json');
    const response = await api.put('/people', body);
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_PHONE_NUMBER', param: 'phone', message: '+1 (415) 555-0123' });
    expect(error.errors).toEqual([{ param: 'phone', code: 'INVALID_PHONE_NUMBER', message: expect.stringContaining('+1 (415) 555-0123') }]);
  });

  it('writes neither person nor company when the request is rejected', async () => {
    const people = await countPeople();
    const companies = await countCompanies();
    const response = await api.put('/people', { email: 'rejected@example.com', phone: '+1 (415) 555-0123', company: { name: 'Rejected Corp' } });
    expect(response.status).toBe(400);
    expect(await countPeople()).toBe(people);
    expect(await countCompanies()).toBe(companies);
  });

  it('answers 400 INVALID_EMAIL on email, naming the value, for "not-an-email"', async () => {
    const response = await api.put('/people', { email: 'not-an-email' });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_EMAIL', param: 'email', message: 'not-an-email' });
    expect(error.errors).toHaveLength(1);
    expect(await countPeople({ email: 'not-an-email' })).toBe(0);
  });

  it('answers 400 VALIDATION_FAILED listing email and phone when both are invalid', async () => {
    const response = await api.put('/people', { email: 'not-an-email', phone: '555-0123' });
    const error = expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'VALIDATION_FAILED', param: null });
    expect(error.errors).toHaveLength(2);
    expect(error.errors).toEqual(
      expect.arrayContaining([
        { param: 'email', code: 'INVALID_EMAIL', message: expect.stringContaining('not-an-email') },
        { param: 'phone', code: 'INVALID_PHONE_NUMBER', message: expect.stringContaining('555-0123') },
      ]),
    );
  });

  it('answers 400 INVALID_FIELD_VALUE on boundary, naming the value, for the boundary "partner"', async () => {
    const response = await api.put('/people', { email: 'partner@example.com', boundary: 'partner' });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'boundary', message: 'partner' });
  });

  it('answers 400 INVALID_FIELD_VALUE on external_id when neither external_id nor email is given', async () => {
    const before = await countPeople();
    const response = await api.put('/people', { first_name: 'Nobody' });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'external_id' });
    expect(await countPeople()).toBe(before);
  });

  it('answers 400 INVALID_FIELD_VALUE naming a key the endpoint does not accept', async () => {
    const response = await api.put('/people', { email: 'extra@example.com', nickname: 'Ex' });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'nickname', message: 'nickname' });
  });
});

describe('GET /people', () => {
  let listing: RestClient;
  const ids: number[] = [];

  beforeAll(async () => {
    listing = api.as(await server.createToken('Listing Corp'));
    for (const name of ['ana', 'ben', 'cai', 'dev', 'eli']) ids.push((await listing.upsertPerson({ email: `${name}@listing.example`, first_name: name })).id);
  });

  it('answers 200 { data, next_cursor: null } with every person, newest first', async () => {
    const response = await listing.get<RestPage<RestPerson>>('/people');
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['data', 'next_cursor']);
    expect(response.body.data.map((person) => person.first_name)).toEqual(['eli', 'dev', 'cai', 'ben', 'ana']);
    expect(response.body.next_cursor).toBeNull();
  });

  it('lists people with the same shape as GET /people/{id}', async () => {
    const response = await listing.get<RestPage<RestPerson>>('/people');
    const single = await listing.get<RestPerson>(`/people/${ids[0]}`);
    expect(response.body.data.at(-1)).toEqual(single.body);
  });

  it('pages with limit and cursor, newest first, covering every person exactly once', async () => {
    const seen: number[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string | number> = cursor === null ? { limit: 2 } : { limit: 2, cursor };
      const response = await listing.get<RestPage<RestPerson>>('/people', { query });
      expect(response.status).toBe(200);
      seen.push(...response.body.data.map((person) => person.id));
      pageSizes.push(response.body.data.length);
      cursor = response.body.next_cursor;
    } while (cursor !== null && pageSizes.length < 10);
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by email, case-insensitively, with ?email=', async () => {
    const response = await listing.get<RestPage<RestPerson>>('/people', { query: { email: 'CAI@Listing.Example' } });
    expect(response.status).toBe(200);
    expect(response.body.data.map((person) => person.id)).toEqual([ids[2]]);
    expect(response.body.next_cursor).toBeNull();
  });

  it('answers an empty list when no person has the ?email=', async () => {
    const response = await listing.get<RestPage<RestPerson>>('/people', { query: { email: 'nobody@listing.example' } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: [], next_cursor: null });
  });

  it('answers 400 INVALID_FIELD_VALUE on limit for ?limit=101', async () => {
    const response = await listing.get('/people', { query: { limit: 101 } });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_FIELD_VALUE', param: 'limit', message: '101' });
  });

  it('answers 400 INVALID_CURSOR on cursor for a cursor this API never returned', async () => {
    const response = await listing.get('/people', { query: { cursor: 'garbage-cursor' } });
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_CURSOR', param: 'cursor' });
  });
});

describe('GET /people/{id}', () => {
  it('answers 200 with the person', async () => {
    const created = await api.upsertPerson({ email: 'fetched@example.com', first_name: 'Fetched', company: { name: 'Fetch Corp', domain: 'fetch.example' } });
    const response = await api.get<RestPerson>(`/people/${created.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(created);
  });

  it('answers 404 PERSON_NOT_FOUND on id, naming the id, for an unknown id', async () => {
    const response = await api.get('/people/987654');
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'id', message: '987654' });
  });

  it('answers 400 INVALID_ID on id, naming the value, for the id "abc"', async () => {
    const response = await api.get('/people/abc');
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id', message: 'abc' });
  });
});

describe('DELETE /people/{id}', () => {
  it('answers 200 { id, deleted: true } and removes the person', async () => {
    const person = await api.upsertPerson({ email: 'deleted@example.com' });
    const response = await api.delete<RestDeleted>(`/people/${person.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: person.id, deleted: true });
    expect(await countPeople({ id: person.id })).toBe(0);
  });

  it('answers 404 PERSON_NOT_FOUND for a person once they are deleted', async () => {
    const person = await api.upsertPerson({ email: 'gone@example.com' });
    await api.delete(`/people/${person.id}`);
    const response = await api.get(`/people/${person.id}`);
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'id', message: String(person.id) });
  });

  it('keeps the records of a deleted person, unlinked', async () => {
    const person = await api.upsertPerson({ email: 'author@example.com' });
    const source = await api.createSource({ name: 'Keeps records' });
    const record = await api.ingest(source.id, textRecord('Still here', { person_id: person.id }));
    expect((await api.delete(`/people/${person.id}`)).status).toBe(200);
    const response = await api.get<RestRecord>(`/feedback-sources/${source.id}/records/${record.id}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ...record, person_id: null });
    expect(await server.orm.em.fork().count(FeedbackRecord, { id: record.id })).toBe(1);
  });

  it('answers 404 PERSON_NOT_FOUND on id, naming the id, for an unknown id', async () => {
    const response = await api.delete('/people/987654');
    expectErrorEnvelope(response, { status: 404, type: 'not_found_error', code: 'PERSON_NOT_FOUND', param: 'id', message: '987654' });
  });

  it('answers 400 INVALID_ID on id for the id "abc"', async () => {
    const response = await api.delete('/people/abc');
    expectErrorEnvelope(response, { status: 400, type: 'validation_error', code: 'INVALID_ID', param: 'id', message: 'abc' });
  });
});
