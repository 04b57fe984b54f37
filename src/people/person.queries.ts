import type { EntityManager } from '@mikro-orm/postgresql';
import { query, sql } from '../database/sql.ts';
import { NotFoundError } from '../errors/api-error.ts';
import type { Page } from '../graphql/pagination.ts';
import { Company } from './company.entity.ts';
import { Person } from './person.entity.ts';

export function personNotFound(id: number, param = 'id'): NotFoundError {
  return new NotFoundError('PERSON_NOT_FOUND', { param, message: `No person with id ${id}.` });
}

export async function findPersonOrFail(em: EntityManager, organizationId: number, id: number, param = 'id'): Promise<Person> {
  const person = await em.findOne(Person, { id, organization: organizationId });
  if (!person) throw personNotFound(id, param);
  return person;
}

export async function findPersonByExternalId(em: EntityManager, organizationId: number, externalId: string): Promise<Person | null> {
  return await em.findOne(Person, { organization: organizationId, externalId });
}

/** Case-insensitive, through the `lower(email)` unique index. */
export async function findPersonByEmail(em: EntityManager, organizationId: number, email: string): Promise<Person | null> {
  const [row] = await query(em, sql<Record<string, unknown>>`select * from "person" where "organization_id" = ${organizationId} and lower("email") = lower(${email})`);
  return row ? em.map(Person, row) : null;
}

/** Loader batch. Each person's company comes in the same statement, so person and company cost one query together. */
export async function findPeopleByIds(em: EntityManager, organizationId: number, ids: readonly number[]): Promise<Person[]> {
  return await em.find(Person, { id: { $in: [...ids] }, organization: organizationId }, { populate: ['company'] });
}

export async function findCompaniesByIds(em: EntityManager, organizationId: number, ids: readonly number[]): Promise<Company[]> {
  return await em.find(Company, { id: { $in: [...ids] }, organization: organizationId });
}

export async function listPeople(em: EntityManager, organizationId: number, page: Page, filter: { email?: string | null }): Promise<Person[]> {
  if (typeof filter.email === 'string') {
    const person = await findPersonByEmail(em, organizationId, filter.email);
    return person && (!page.after || person.id < Number(page.after[0])) ? [person] : [];
  }
  return await em.find(
    Person,
    { organization: organizationId, ...(page.after ? { id: { $lt: Number(page.after[0]) } } : {}) },
    { orderBy: { id: 'desc' }, limit: page.limit + 1 },
  );
}
