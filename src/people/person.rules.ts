import { createRequire } from 'node:module';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { query, sql } from '../database/sql.ts';
import { ConflictError, FieldErrors } from '../errors/api-error.ts';
import { Organization } from '../organizations/organization.entity.ts';
import { describeValue, isText } from '../validation/values.ts';
import { checkCompanyInput, upsertCompany, type CompanyInput } from './company.rules.ts';
import { CompanyView, findPersonByEmail, findPersonByExternalId, personNotFound, type PersonView, personViewOf, queuePersonUpserted } from './person.queries.ts';
import { Person } from './person.entity.ts';

export const boundaries = ['external', 'internal'] as const;
export type Boundary = (typeof boundaries)[number];

/** Absent keys keep their stored value; null clears a field. */
export interface PersonInput {
  externalId?: string | null;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  phone?: string | null;
  boundary?: string | null;
  company?: CompanyInput | null;
}

/** E.164: +, a country code and number, at most 15 digits, no spaces or dashes. */
export const E164 = /^\+[1-9]\d{1,14}$/;
export const MAX_PERSON_TEXT_LENGTH = 255;
export const MAX_EMAIL_LENGTH = 320;
const emailSchema = z.email();

function checkText(errors: FieldErrors, param: string, value: unknown, max: number): void {
  if (value === undefined || value === null) return;
  if (!isText(value, max)) {
    errors.add(param, 'INVALID_FIELD_VALUE', (n) => `${n(param)} must be 1 to ${max} characters; got ${describeValue(value)}.`);
  }
}

// libphonenumber-js loads on the first phone number checked rather than in every process at start:
// it holds about 2.5 MiB, most of it its metadata.
const require = createRequire(import.meta.url);
let phoneNumbers: typeof import('libphonenumber-js') | undefined;
function isPossiblePhoneNumber(phone: string): boolean {
  const library: typeof import('libphonenumber-js') = phoneNumbers ?? require('libphonenumber-js');
  phoneNumbers = library;
  return library.isPossiblePhoneNumber(phone);
}

function checkPersonInput(input: PersonInput): FieldErrors {
  const errors = new FieldErrors();
  checkText(errors, 'externalId', input.externalId, MAX_PERSON_TEXT_LENGTH);
  checkText(errors, 'firstName', input.firstName, MAX_PERSON_TEXT_LENGTH);
  checkText(errors, 'lastName', input.lastName, MAX_PERSON_TEXT_LENGTH);
  if (typeof input.email === 'string' && (input.email.length > MAX_EMAIL_LENGTH || !emailSchema.safeParse(input.email).success)) {
    errors.add('email', 'INVALID_EMAIL', (n) => `${n('email')} is not a valid address: ${describeValue(input.email)}.`);
  }
  if (typeof input.phone === 'string' && !(E164.test(input.phone) && isPossiblePhoneNumber(input.phone))) {
    errors.add('phone', 'INVALID_PHONE_NUMBER', (n) => `${n('phone')} must be in E.164 format (e.g. +14155550123); got '${input.phone}'.`);
  }
  if (input.boundary === null || (input.boundary !== undefined && !(boundaries as readonly string[]).includes(input.boundary))) {
    errors.add('boundary', 'INVALID_FIELD_VALUE', (n) => `${n('boundary')} must be ${boundaries.join(' or ')}; got ${describeValue(input.boundary)}.`);
  }
  if (!input.externalId && !input.email) {
    errors.add('externalId', 'INVALID_FIELD_VALUE', (n) => `Give ${n('externalId')} or ${n('email')} (or both) to identify the person.`);
  }
  return errors;
}

function emailTaken(email: string): ConflictError {
  return new ConflictError('PERSON_EMAIL_TAKEN', { param: 'email', message: `Another person already has the email ${email}.` });
}

/** Finds who the input names: by external_id when given, else by email (case-insensitive). */
async function findMatch(em: EntityManager, organizationId: number, input: PersonInput): Promise<Person | null> {
  if (input.externalId) {
    const byExternalId = await findPersonByExternalId(em, organizationId, input.externalId);
    if (byExternalId || !input.email) return byExternalId;
    // A person first known only by email is adopted by the external_id; one with another external_id is someone else.
    const byEmail = await findPersonByEmail(em, organizationId, input.email);
    if (byEmail && byEmail.externalId !== null) throw emailTaken(input.email);
    return byEmail;
  }
  return input.email ? await findPersonByEmail(em, organizationId, input.email) : null;
}

async function upsertOnce(em: EntityManager, organizationId: number, input: PersonInput): Promise<{ person: PersonView; created: boolean }> {
  return await em.transactional(async (tx) => {
    const existing = await findMatch(tx, organizationId, input);
    const person = existing ?? tx.create(Person, { organization: tx.getReference(Organization, organizationId), boundary: 'external' });
    if (input.externalId !== undefined && input.externalId !== null) person.externalId = input.externalId;
    if (input.email !== undefined) person.email = input.email;
    if (input.firstName !== undefined) person.firstName = input.firstName;
    if (input.lastName !== undefined) person.lastName = input.lastName;
    if (input.phone !== undefined) person.phone = input.phone;
    if (input.boundary) person.boundary = input.boundary;
    const company = input.company ? await upsertCompany(tx, organizationId, input.company) : null;
    if (input.company !== undefined) person.company = company;
    await tx.flush();
    await queuePersonUpserted(tx, organizationId, person.id);
    // A company the input left alone was not read; GraphQL's company loader reads it when asked.
    return { person: personViewOf(person, company ? new CompanyView(company) : input.company === null ? null : undefined), created: !existing };
  });
}

/**
 * Creates or updates a person. Unique indexes arbitrate races: when a concurrent request created
 * the same person first, the upsert runs once more and updates that row instead.
 */
export async function upsertPerson(em: EntityManager, organizationId: number, input: PersonInput): Promise<{ person: PersonView; created: boolean }> {
  const errors = checkPersonInput(input);
  if (input.company) checkCompanyInput(input.company, errors);
  errors.throwIfAny();
  for (let attempt = 1; ; attempt++) {
    try {
      return await upsertOnce(em, organizationId, input);
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      if (attempt >= 2) throw emailTaken(input.email ?? '');
    }
  }
}

/** One statement; the database unlinks the person's records (ON DELETE SET NULL). */
export async function deletePerson(em: EntityManager, organizationId: number, id: number): Promise<void> {
  const deleted = await query(em, sql`delete from "person" where "id" = ${id} and "organization_id" = ${organizationId} returning "id"`);
  if (deleted.length === 0) throw personNotFound(id);
}
