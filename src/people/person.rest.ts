import { z } from 'zod';
import { graphql, type ResultOf } from '../graphql/typed-document.ts';
import { restResource } from '../rest/resource.ts';
import { restPath } from '../rest/route.ts';
import { anyCase, id, idParam, textConstraints, textFilterQuery, timestamp } from '../rest/schemas.ts';
import { DOMAIN, MAX_COMPANY_NAME_LENGTH } from './company.rules.ts';
import docs from './person.openapi.json' with { type: 'json' };
import { boundaries, E164, MAX_EMAIL_LENGTH, MAX_PERSON_TEXT_LENGTH } from './person.rules.ts';

export const CompanySchema = z.object({ id, name: z.string(), domain: z.string().nullable() }).meta({ id: 'Company' });

export const PersonSchema = z
  .object({
    id,
    email: z.string().nullable(),
    external_id: z.string().nullable(),
    first_name: z.string().nullable(),
    last_name: z.string().nullable(),
    phone: z.string().nullable().meta({ description: 'E.164, e.g. +14155550123.' }),
    boundary: z.enum(boundaries),
    company_id: id.nullable(),
    company: CompanySchema.nullable(),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Person', description: 'Someone who gave feedback, with their company.' });

const PersonFields = graphql(`fragment PersonFields on Person {
  id email externalId firstName lastName phone boundary companyId company { id name domain } createdAt updatedAt
}`);

export function toRestPerson(node: ResultOf<typeof PersonFields>): z.output<typeof PersonSchema> {
  return {
    id: Number(node.id),
    email: node.email,
    external_id: node.externalId,
    first_name: node.firstName,
    last_name: node.lastName,
    phone: node.phone,
    boundary: node.boundary,
    company_id: node.companyId === null ? null : Number(node.companyId),
    company: node.company && { id: Number(node.company.id), name: node.company.name, domain: node.company.domain },
    created_at: node.createdAt,
    updated_at: node.updatedAt,
  };
}

const text = (description: string, constraints: Record<string, unknown> = textConstraints(MAX_PERSON_TEXT_LENGTH)) =>
  z.string().nullable().optional().meta({ description, ...constraints });
const NO_BAD_TEXT = 'no U+0000 or unpaired surrogates';

const UpsertPersonBody = z
  .strictObject({
    external_id: text(`Your id for the person; matched first. 1–${MAX_PERSON_TEXT_LENGTH} characters, ${NO_BAD_TEXT}.`),
    // The pattern is the one z.email() checks in the person rules.
    email: text(`Matched case-insensitively when external_id is absent. At most ${MAX_EMAIL_LENGTH} characters.`, {
      format: 'email',
      pattern: z.regexes.email.source,
      maxLength: MAX_EMAIL_LENGTH,
      example: 'maria.garcia@northwind.example',
    }),
    first_name: text(`1–${MAX_PERSON_TEXT_LENGTH} characters, ${NO_BAD_TEXT}.`),
    last_name: text(`1–${MAX_PERSON_TEXT_LENGTH} characters, ${NO_BAD_TEXT}.`),
    phone: text(
      'E.164: +, country code and number, at most 15 digits, no spaces or dashes. It must also be a possible number for its country ' +
        '(a length its numbering plan allows, as libphonenumber judges), else INVALID_PHONE_NUMBER.',
      { pattern: E164.source, example: '+14155550123' },
    ),
    boundary: z
      .string()
      .optional()
      .meta({ description: `${boundaries.join(' or ')}; a new person is external unless told otherwise.`, enum: [...boundaries] }),
    company: z
      .strictObject({
        name: z.string().meta({ description: `1–${MAX_COMPANY_NAME_LENGTH} characters, not only spaces, ${NO_BAD_TEXT}.`, ...textConstraints(MAX_COMPANY_NAME_LENGTH, { blank: false }) }),
        domain: z
          .string()
          .nullable()
          .optional()
          .meta({ description: 'A domain name such as northwind.example (stored lower-case); matched before the name.', pattern: anyCase(DOMAIN) }),
      })
      .nullable()
      .optional()
      .meta({ description: 'Upserted by domain, else by name, and linked; null unlinks.' }),
  })
  .meta({
    id: 'PersonUpsert',
    description: 'external_id or email is required. Absent keys keep their value; null clears.',
    anyOf: [
      { required: ['external_id'], properties: { external_id: { type: 'string' } } },
      { required: ['email'], properties: { email: { type: 'string' } } },
    ],
  });


const UpsertPerson = graphql(`mutation upsertPerson($input: UpsertPersonInput!) {
  upsertPerson(input: $input) { __typename ... on UpsertPersonSuccess { created item: person { ...PersonFields } } }
}`, [PersonFields]);
const ListPeople = graphql(`query listPeople($first: Int, $after: String, $email: String) {
  people(first: $first, after: $after, email: $email) { edges { node { ...PersonFields } } pageInfo { hasNextPage endCursor } }
}`, [PersonFields]);
const GetPerson = graphql(`query getPerson($id: ID!) { person(id: $id) { ...PersonFields } }`, [PersonFields]);
const DeletePerson = graphql(`mutation deletePerson($id: ID!) { deletePerson(id: $id) { __typename ... on DeletePersonSuccess { id } } }`);

export const personRoutes = restResource(docs, {
  scopes: { read: 'people:read', write: 'people:write' },
  paths: [restPath('/people', {}), restPath('/people/{id}', { id: idParam('The person id.') })],
  item: [PersonSchema, toRestPerson],
}).routes((people) => [
  people.upsert(UpsertPersonBody, UpsertPerson, ['INVALID_EMAIL', 'INVALID_PHONE_NUMBER', 'PERSON_EMAIL_TAKEN']),
  people.list({ email: textFilterQuery('Only the person with this email (case-insensitive).') }, ListPeople),
  people.get(GetPerson, ['PERSON_NOT_FOUND']),
  people.delete({}, DeletePerson, ['PERSON_NOT_FOUND']),
]);
