import type { EntityManager } from '@mikro-orm/postgresql';
import type { RawBuilder } from 'kysely';
import { byId, type Keyset, type Page } from '../database/keyset.ts';
import { query, readTimestamp, sql } from '../database/sql.ts';
import { NotFoundError } from '../errors/api-error.ts';
import { outboxInsert, restInstant } from '../webhooks/webhook.queries.ts';
import { noteQueuedMessages } from '../webhooks/outbox-signal.ts';
import { Person } from './person.entity.ts';

export function personNotFound(id: number, param = 'id'): NotFoundError {
  return new NotFoundError('PERSON_NOT_FOUND', { param, message: `No person with id ${id}.` });
}

/** What GraphQL's Company resolves from: a plain copy of the row. */
export class CompanyView {
  readonly id: number;
  readonly name: string;
  readonly domain: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Copies the fields it needs from a row's values or from an entity the unit of work just wrote. */
  constructor(company: Omit<CompanyView, 'domain'> & { domain?: string | null }) {
    this.id = company.id;
    this.name = company.name;
    this.domain = company.domain ?? null;
    this.createdAt = company.createdAt;
    this.updatedAt = company.updatedAt;
  }
}

/** What GraphQL's Person resolves from: a plain copy of the row, with the company read in the same statement. */
export class PersonView {
  readonly id: number;
  readonly email: string | null;
  readonly externalId: string | null;
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly phone: string | null;
  readonly boundary: string;
  readonly companyId: number | null;
  /** The linked company, null when none is; undefined when it was not read with the person. */
  readonly company: CompanyView | null | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  constructor(person: Omit<PersonView, 'company'>, company: CompanyView | null | undefined) {
    this.id = person.id;
    this.email = person.email;
    this.externalId = person.externalId;
    this.firstName = person.firstName;
    this.lastName = person.lastName;
    this.phone = person.phone;
    this.boundary = person.boundary;
    this.companyId = person.companyId;
    this.company = company;
    this.createdAt = person.createdAt;
    this.updatedAt = person.updatedAt;
  }
}

interface CompanyRow {
  company_id: string;
  company_name: string;
  company_domain: string | null;
  company_created_at: string;
  company_updated_at: string;
}

interface PersonRow {
  id: string;
  email: string | null;
  external_id: string | null;
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  boundary: string;
  company_id: string | null;
  created_at: string;
  updated_at: string;
  /** Null when the person has no company. */
  company_name: string | null;
  company_domain: string | null;
  company_created_at: string | null;
  company_updated_at: string | null;
}

const companyColumns = sql`c."name" as "company_name", c."domain" as "company_domain", c."created_at" as "company_created_at", c."updated_at" as "company_updated_at"`;

/**
 * The people a condition selects (`p`, `page` limiting them), newest first, each with their company
 * (`c`). Companies are looked up by `id = any(array)`, which reads the primary key index whatever
 * the planner thinks of the company table's size: a plain join of a page of people may scan it whole.
 */
function peopleWithCompanies(organizationId: number, condition: RawBuilder<unknown>, page: RawBuilder<unknown> = sql``) {
  return sql<PersonRow>`with "p" as (
      select "id", "email", "external_id", "first_name", "last_name", "phone", "boundary", "company_id", "created_at", "updated_at"
      from "person" where "organization_id" = ${organizationId} and ${condition} ${page}
    ), "c" as (
      select "id", "name", "domain", "created_at", "updated_at" from "company"
      where "organization_id" = ${organizationId} and "id" = any(array(select "company_id" from "p" where "company_id" is not null))
    )
    select p.*, ${companyColumns} from "p" p left join "c" c on c."id" = p."company_id" order by p."id" desc`;
}

function toCompanyView(em: EntityManager, row: CompanyRow): CompanyView {
  return new CompanyView({
    id: Number(row.company_id),
    name: row.company_name,
    domain: row.company_domain,
    createdAt: readTimestamp(em, row.company_created_at),
    updatedAt: readTimestamp(em, row.company_updated_at),
  });
}

function toPersonView(em: EntityManager, row: PersonRow): PersonView {
  const { company_id, company_name, company_domain, company_created_at, company_updated_at } = row;
  const company =
    company_id !== null && company_name !== null && company_created_at !== null && company_updated_at !== null
      ? toCompanyView(em, { company_id, company_name, company_domain, company_created_at, company_updated_at })
      : null;
  return new PersonView(
    {
      id: Number(row.id),
      email: row.email,
      externalId: row.external_id,
      firstName: row.first_name,
      lastName: row.last_name,
      phone: row.phone,
      boundary: row.boundary,
      companyId: company_id === null ? null : Number(company_id),
      createdAt: readTimestamp(em, row.created_at),
      updatedAt: readTimestamp(em, row.updated_at),
    },
    company,
  );
}

/** The read model of a person the unit of work just wrote; `company` as in PersonView. */
export function personViewOf(person: Person, company: CompanyView | null | undefined): PersonView {
  return new PersonView(
    {
      id: person.id,
      email: person.email ?? null,
      externalId: person.externalId ?? null,
      firstName: person.firstName ?? null,
      lastName: person.lastName ?? null,
      phone: person.phone ?? null,
      boundary: person.boundary,
      companyId: person.company?.id ?? null,
      createdAt: person.createdAt,
      updatedAt: person.updatedAt,
    },
    person.company ? company : null,
  );
}

export async function findPersonOrFail(em: EntityManager, organizationId: number, id: number, param = 'id'): Promise<PersonView> {
  const [row] = await query(em, peopleWithCompanies(organizationId, sql`"id" = ${id}`));
  if (!row) throw personNotFound(id, param);
  return toPersonView(em, row);
}

/** The managed entity, for the writes that go through the unit of work. */
export async function findPersonByExternalId(em: EntityManager, organizationId: number, externalId: string): Promise<Person | null> {
  return await em.findOne(Person, { organization: organizationId, externalId });
}

/** The managed entity, case-insensitively through the `lower(email)` unique index. */
export async function findPersonByEmail(em: EntityManager, organizationId: number, email: string): Promise<Person | null> {
  const [row] = await query(em, sql<Record<string, unknown>>`select * from "person" where "organization_id" = ${organizationId} and lower("email") = lower(${email})`);
  return row ? em.map(Person, row) : null;
}

/** Loader batch. Each person's company comes in the same statement, so person and company cost one query together. */
export async function findPeopleByIds(em: EntityManager, organizationId: number, ids: readonly number[]): Promise<PersonView[]> {
  const rows = await query(em, peopleWithCompanies(organizationId, sql`"id" = any(${[...ids]}::bigint[])`), { prepared: true });
  return rows.map((row) => toPersonView(em, row));
}

export async function findCompaniesByIds(em: EntityManager, organizationId: number, ids: readonly number[]): Promise<CompanyView[]> {
  const rows = await query(
    em,
    sql<CompanyRow>`select c."id" as "company_id", ${companyColumns} from "company" c where c."organization_id" = ${organizationId} and c."id" = any(${[...ids]}::bigint[])`,
    { prepared: true },
  );
  return rows.map((row) => toCompanyView(em, row));
}

/** People are listed newest first by id. */
export const personKeyset: Keyset<PersonView, number> = byId;

/** The condition a listing of people filtered by email adds (case-insensitive, through its unique index), for its pages and its count alike. */
const emailCondition = (filter: { email?: string | null }) => (typeof filter.email === 'string' ? sql`lower("email") = lower(${filter.email})` : sql`true`);

/** How many people the listing holds, for totalCount. */
export async function countPeople(em: EntityManager, organizationId: number, filter: { email?: string | null }): Promise<number> {
  const [row] = await query(
    em,
    sql<{ count: string }>`select count(*) as "count" from "person"
      where "organization_id" = ${organizationId} and ${emailCondition(filter)}`,
  );
  return Number(row?.count ?? 0);
}

/** Newest first; with `email`, only the person who has it (case-insensitive, through its unique index). */
export async function listPeople(em: EntityManager, organizationId: number, page: Page<number>, filter: { email?: string | null }): Promise<PersonView[]> {
  const conditions = [
    emailCondition(filter),
    page.after === null ? sql`true` : sql`"id" < ${page.after}`,
  ];
  const rows = await query(em, peopleWithCompanies(organizationId, sql.join(conditions, sql` and `), sql`order by "id" desc limit ${page.limit + 1}`));
  return rows.map((row) => toPersonView(em, row));
}

/**
 * Queues `person.upserted` for the endpoints that want it, in the upsert's transaction: the person as
 * the REST API shows it, read from the row the upsert wrote (with its company), only when an endpoint
 * wants the event.
 */
export async function queuePersonUpserted(em: EntityManager, organizationId: number, personId: number): Promise<void> {
  const data = sql`(select jsonb_build_object('id', p."id", 'email', p."email", 'external_id', p."external_id", 'first_name', p."first_name", 'last_name', p."last_name",
      'phone', p."phone", 'boundary', p."boundary", 'company_id', p."company_id",
      'company', case when c."id" is null then null else jsonb_build_object('id', c."id", 'name', c."name", 'domain', c."domain") end,
      'created_at', ${restInstant(sql`p."created_at"`)}, 'updated_at', ${restInstant(sql`p."updated_at"`)})
    from "person" p left join "company" c on c."id" = p."company_id" and c."organization_id" = p."organization_id"
    where p."id" = ${personId} and p."organization_id" = ${organizationId})`;
  const queued = await query(em, sql`${outboxInsert(organizationId, { type: 'person.upserted', data })} returning 1`);
  if (queued.length > 0) noteQueuedMessages();
}
