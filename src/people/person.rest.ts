import { z } from 'zod';
import { operation } from '../rest/operation.ts';
import { camelCaseKeys, type ConnectionData, pageVariables, toPage } from '../rest/params.ts';
import { defineRoute } from '../rest/route.ts';
import { anyCase, DeletedSchema, id, idParam, listOf, listQuery, textConstraints, textFilterQuery, timestamp } from '../rest/schemas.ts';
import { DOMAIN, MAX_COMPANY_NAME_LENGTH } from './company.rules.ts';
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

const PERSON_FIELDS = `fragment PersonFields on Person {
  id email externalId firstName lastName phone boundary companyId company { id name domain } createdAt updatedAt
}`;

interface PersonNode {
  id: string;
  email: string | null;
  externalId: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  boundary: 'external' | 'internal';
  companyId: string | null;
  company: { id: string; name: string; domain: string | null } | null;
  createdAt: string;
  updatedAt: string;
}

export function toRestPerson(node: PersonNode): z.output<typeof PersonSchema> {
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

const personId = { id: idParam('The person id.') };
const tag = 'People';

export const personRoutes = [
  defineRoute({
    method: 'PUT',
    path: '/people',
    operationId: 'upsertPerson',
    summary: 'Create or update a person (201 when created, 200 when updated)',
    description:
      'Matches the person by external_id when given, else by email (case-insensitive), and creates them when there is no match. ' +
      'Keys left out keep their value; null clears one. A company is upserted by domain, else by name, and linked.',
    tag,
    scope: 'people:write',
    body: UpsertPersonBody,
    document: operation(`mutation ($input: UpsertPersonInput!) {
      upsertPerson(input: $input) { __typename ...ErrorFields ... on UpsertPersonSuccess { created person { ...PersonFields } } }
    } ${PERSON_FIELDS}`),
    variables: ({ body }) => ({ input: camelCaseKeys(body) }),
    respond: (data: { upsertPerson: { created: boolean; person: PersonNode } }) => ({ status: data.upsertPerson.created ? 201 : 200, body: toRestPerson(data.upsertPerson.person) }),
    responses: { 201: { description: 'The person was created.', schema: PersonSchema }, 200: { description: 'The person was updated.', schema: PersonSchema } },
    errors: ['INVALID_EMAIL', 'INVALID_PHONE_NUMBER', 'PERSON_EMAIL_TAKEN'],
  }),
  defineRoute({
    method: 'GET',
    path: '/people',
    operationId: 'listPeople',
    summary: 'List people, newest first',
    description: 'Lists the organization\'s people, newest first, a page at a time; with email, only the person with that address.',
    tag,
    scope: 'people:read',
    query: { ...listQuery, email: textFilterQuery('Only the person with this email (case-insensitive).') },
    document: operation(`query ($first: Int, $after: String, $email: String) {
      people(first: $first, after: $after, email: $email) { edges { node { ...PersonFields } } pageInfo { hasNextPage endCursor } }
    } ${PERSON_FIELDS}`),
    variables: ({ query }) => ({ ...pageVariables(query), email: query.email }),
    respond: (data: { people: ConnectionData<PersonNode> }) => ({ status: 200, body: toPage(data.people, toRestPerson) }),
    responses: { 200: { description: 'A page of people.', schema: listOf(PersonSchema, 'PersonList') } },
    errors: ['INVALID_CURSOR'],
  }),
  defineRoute({
    method: 'GET',
    path: '/people/{id}',
    operationId: 'getPerson',
    summary: 'Get a person',
    description: 'Returns one person with their company.',
    tag,
    scope: 'people:read',
    params: personId,
    document: operation(`query ($id: ID!) { person(id: $id) { ...PersonFields } } ${PERSON_FIELDS}`),
    variables: ({ params }) => ({ id: params.id }),
    respond: (data: { person: PersonNode }) => ({ status: 200, body: toRestPerson(data.person) }),
    responses: { 200: { description: 'The person.', schema: PersonSchema } },
    errors: ['PERSON_NOT_FOUND'],
  }),
  defineRoute({
    method: 'DELETE',
    path: '/people/{id}',
    operationId: 'deletePerson',
    summary: 'Delete a person; their records stay, unlinked',
    description: 'Deletes a person. Their records are kept, with person_id set to null.',
    tag,
    scope: 'people:write',
    params: personId,
    document: operation(`mutation ($id: ID!) { deletePerson(id: $id) { __typename ...ErrorFields ... on DeletePersonSuccess { id } } }`),
    variables: ({ params }) => ({ id: params.id }),
    respond: (data: { deletePerson: { id: string } }) => ({ status: 200, body: { id: Number(data.deletePerson.id), deleted: true } }),
    responses: { 200: { description: 'The person is deleted.', schema: DeletedSchema } },
    errors: ['PERSON_NOT_FOUND'],
  }),
];
