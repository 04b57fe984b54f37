import type { EntityManager } from '@mikro-orm/postgresql';
import { query, sql } from '../database/sql.ts';
import type { FieldErrors } from '../errors/api-error.ts';
import { describeValue, isText } from '../validation/values.ts';
import { Company } from './company.entity.ts';

export interface CompanyInput {
  name: string;
  domain?: string | null;
}

export const MAX_COMPANY_NAME_LENGTH = 255;
/** A host name of at most 253 characters in labels of at most 63, checked lower-cased. */
export const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function checkCompanyInput(input: CompanyInput, errors: FieldErrors, prefix = 'company'): void {
  if (!isText(input.name, MAX_COMPANY_NAME_LENGTH, { allowBlank: false })) {
    errors.add(`${prefix}.name`, 'INVALID_FIELD_VALUE', (n) => `${n(`${prefix}.name`)} must be 1 to ${MAX_COMPANY_NAME_LENGTH} characters, not only spaces; got ${describeValue(input.name)}.`);
  }
  if (input.domain !== undefined && input.domain !== null && !DOMAIN.test(input.domain.toLowerCase())) {
    errors.add(`${prefix}.domain`, 'INVALID_FIELD_VALUE', (n) => `${n(`${prefix}.domain`)} must be a domain name such as acme.example; got ${describeValue(input.domain)}.`);
  }
}

type CompanyRow = Record<string, unknown>;

/**
 * Matched by domain when one is given (the name is then updated), else by name. Each path is one
 * INSERT … ON CONFLICT against a unique index, so concurrent upserts never create two companies.
 */
export async function upsertCompany(em: EntityManager, organizationId: number, input: CompanyInput): Promise<Company> {
  const domain = input.domain ? input.domain.toLowerCase() : null;
  if (domain) {
    const [row] = await query(
      em,
      sql<CompanyRow>`insert into "company" ("organization_id", "name", "domain", "created_at", "updated_at") values (${organizationId}, ${input.name}, ${domain}, now(), now())
        on conflict ("organization_id", "domain") do update set "name" = excluded."name",
          "updated_at" = case when "company"."name" = excluded."name" then "company"."updated_at" else now() end
        returning *`,
    );
    return em.map(Company, row as CompanyRow);
  }
  const find = () =>
    query(em, sql<CompanyRow>`select * from "company" where "organization_id" = ${organizationId} and "name" = ${input.name} order by "domain" is null desc, "id" limit 1`);
  let [row] = await find();
  if (!row) {
    [row] = await query(
      em,
      sql<CompanyRow>`insert into "company" ("organization_id", "name", "domain", "created_at", "updated_at") values (${organizationId}, ${input.name}, null, now(), now())
        on conflict ("organization_id", "name") where "domain" is null do nothing returning *`,
    );
    if (!row) [row] = await find();
  }
  return em.map(Company, row as CompanyRow);
}
