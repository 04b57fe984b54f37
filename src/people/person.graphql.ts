import { ConflictError, NotFoundError, PermissionError, ValidationError } from '../errors/api-error.ts';
import { builder } from '../graphql/builder.ts';
import { authenticate, authorize } from '../graphql/context.ts';
import { parseId, parseTextFilter } from '../graphql/ids.ts';
import { mutate } from '../graphql/mutation.ts';
import { implementNode } from '../graphql/node.ts';
import { pageArgs, totalCountField } from '../graphql/connections.ts';
import { readPage, toConnection } from '../graphql/pagination.ts';
import { DeleteSuccess, deleteSuccessType } from '../graphql/payloads.ts';
import { CompanyView, countPeople, findCompaniesByIds, findPeopleByIds, findPersonOrFail, listPeople, personKeyset, PersonView } from './person.queries.ts';
import { MAX_COMPANY_NAME_LENGTH } from './company.rules.ts';
import { boundaries, deletePerson, MAX_EMAIL_LENGTH, MAX_PERSON_TEXT_LENGTH, upsertPerson } from './person.rules.ts';

export const CompanyRef = builder.loadableObjectRef<CompanyView, number>('Company', {
  // A company is part of its person: whatever scope let the token see the person (people:read, or the
  // people:write of the mutation that returned it) covers the company; the organization still scopes the query.
  load: async (ids, ctx) => await findCompaniesByIds(ctx.em, authenticate(ctx).organizationId, ids),
  toKey: (company) => company.id,
  sort: true,
  cacheResolved: true,
});
// Read directly, a company needs the scope of the people it belongs to.
implementNode(CompanyRef, { scope: 'people:read', loader: CompanyRef.getDataloader });

CompanyRef.implement({
  description: 'The company a person works for, shared by everyone linked to it.',
  isTypeOf: (value) => value instanceof CompanyView,
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The company\'s id, the same number as in the REST API.' }),
    name: t.exposeString('name', { description: 'The company\'s name.' }),
    domain: t.exposeString('domain', { nullable: true, description: 'The company\'s web domain, lower-case, e.g. northwind.example; it identifies the company.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the company was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the company was last changed.' }),
  }),
});

export const PersonRef = builder.loadableObjectRef<PersonView, number>('Person', {
  load: async (ids, ctx) => await findPeopleByIds(ctx.em, authorize(ctx, 'people:read').organizationId, ids),
  toKey: (person) => person.id,
  sort: true,
  cacheResolved: true,
});
implementNode(PersonRef, { scope: 'people:read', loader: PersonRef.getDataloader });

const boundaryMeanings: Record<(typeof boundaries)[number], string> = {
  external: 'Outside the organization, such as a customer; the default.',
  internal: 'Inside the organization, such as a colleague.',
};

const PersonBoundary = builder.enumType('PersonBoundary', {
  description: 'Whether a person is inside or outside the organization.',
  values: Object.fromEntries(boundaries.map((boundary) => [boundary, { description: boundaryMeanings[boundary] }])),
});

PersonRef.implement({
  description: 'Someone who gave feedback, with their company.',
  isTypeOf: (value) => value instanceof PersonView,
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The person\'s id, the same number as in the REST API.' }),
    email: t.exposeString('email', { nullable: true, description: 'The person\'s email, unique in the organization regardless of case.' }),
    externalId: t.exposeString('externalId', { nullable: true, description: 'Your own id for the person, unique in the organization.' }),
    firstName: t.exposeString('firstName', { nullable: true, description: 'The person\'s given name.' }),
    lastName: t.exposeString('lastName', { nullable: true, description: 'The person\'s family name.' }),
    phone: t.exposeString('phone', { nullable: true, description: 'E.164, e.g. +14155550123.' }),
    boundary: t.field({
      type: PersonBoundary,
      description: 'Whether the person is inside or outside the organization.',
      resolve: (person) => (person.boundary === 'internal' ? 'internal' : 'external'),
    }),
    companyId: t.exposeID('companyId', { nullable: true, description: 'The id of the person\'s company; null when none is linked.' }),
    company: t.field({
      type: CompanyRef,
      nullable: true,
      description: 'The company the person works for; null when none is linked.',
      // People are read with their company, which primes the company loader; a person a mutation wrote
      // without reading the company leaves it to the loader.
      resolve: (person) => (person.company === undefined ? person.companyId : person.company),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the person was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the person was last changed.' }),
  }),
});

const PersonConnection = builder.connectionObject(
  {
    type: PersonRef,
    name: 'PersonConnection',
    description: 'One page of people, newest first.',
    edgesField: { description: 'The people on this page, each with its cursor.' },
    fields: (t) => ({ totalCount: totalCountField(t, 'people') }),
  },
  { description: 'One person on a page, with its cursor.', nodeField: { description: 'The person.' } },
);

builder.queryFields((t) => ({
  people: t.field({
    type: PersonConnection,
    nullable: true,
    description: 'The organization\'s people, newest first. Needs people:read.',
    args: { email: t.arg.string({ description: 'Only the person with this email (case-insensitive).' }), ...pageArgs },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'people:read');
      const page = readPage(args, personKeyset);
      const filter = { email: parseTextFilter(args.email, 'email') };
      return toConnection(await listPeople(ctx.em, viewer.organizationId, page, filter), page, personKeyset, () => countPeople(ctx.em, viewer.organizationId, filter));
    },
  }),
  person: t.field({
    type: PersonRef,
    nullable: true,
    description: 'One person by id; null with PERSON_NOT_FOUND when they do not exist. Needs people:read.',
    args: { id: t.arg.id({ required: true, description: 'The person\'s id.' }) },
    resolve: async (_root, args, ctx) => await findPersonOrFail(ctx.em, authorize(ctx, 'people:read').organizationId, parseId(args.id, 'id')),
  }),
}));

const CompanyInputRef = builder.inputType('CompanyInput', {
  description: 'The company to link a person to, upserted by domain, else by name.',
  fields: (t) => ({
    name: t.string({ required: true, description: `1–${MAX_COMPANY_NAME_LENGTH} characters, not only spaces; updated when the domain matches.` }),
    domain: t.string({ description: 'Matches an existing company by domain before name.' }),
  }),
});

const UpsertPersonInput = builder.inputType('UpsertPersonInput', {
  description: 'Matched by externalId when given, else by email (case-insensitive). Omitted fields keep their value; null clears.',
  fields: (t) => ({
    externalId: t.string({ description: `Your own id for the person, 1–${MAX_PERSON_TEXT_LENGTH} characters; matches an existing person before email does.` }),
    email: t.string({ description: `The person's email, at most ${MAX_EMAIL_LENGTH} characters; matches an existing person (case-insensitive) when externalId is not given.` }),
    firstName: t.string({ description: `The person's given name, 1–${MAX_PERSON_TEXT_LENGTH} characters.` }),
    lastName: t.string({ description: `The person's family name, 1–${MAX_PERSON_TEXT_LENGTH} characters.` }),
    phone: t.string({ description: 'E.164: +, country code and number, no spaces or dashes.' }),
    boundary: t.string({ description: `One of ${boundaries.join(', ')}; a new person is external unless told otherwise.` }),
    company: t.field({ type: CompanyInputRef, description: 'Upserted by domain, else by name, and linked; null unlinks.' }),
  }),
});

class UpsertPersonSuccess {
  readonly person: PersonView;
  readonly created: boolean;
  constructor(person: PersonView, created: boolean) {
    this.person = person;
    this.created = created;
  }
}

builder.objectType(UpsertPersonSuccess, {
  name: 'UpsertPersonSuccess',
  isTypeOf: (value) => value instanceof UpsertPersonSuccess,
  description: 'The person was created or updated.',
  fields: (t) => ({
    person: t.expose('person', { type: PersonRef, description: 'The person as stored after the upsert.' }),
    created: t.exposeBoolean('created', { description: 'True when the person was created, false when updated.' }),
  }),
});

class DeletePersonSuccess extends DeleteSuccess {}
deleteSuccessType(DeletePersonSuccess, 'DeletePersonSuccess', 'person');

const UpsertPersonPayload = builder.errorUnion('UpsertPersonPayload', {
  description: 'The upserted person, or why the upsert failed.',
  types: [UpsertPersonSuccess, ValidationError, ConflictError, PermissionError],
});
const DeletePersonPayload = builder.errorUnion('DeletePersonPayload', {
  description: 'The id of the deleted person, or why they were not deleted.',
  types: [DeletePersonSuccess, ValidationError, NotFoundError, PermissionError],
});

builder.mutationFields((t) => ({
  upsertPerson: t.field({
    type: UpsertPersonPayload,
    description: 'Creates a person, or updates the one that externalId or email matches. Needs people:write.',
    args: { input: t.arg({ type: UpsertPersonInput, required: true, description: 'Who the person is; externalId or email is required.' }) },
    resolve: (_root, { input }, ctx) =>
      mutate(ctx, 'people:write', async (em, viewer) => {
        const { person, created } = await upsertPerson(em, viewer.organizationId, input);
        return new UpsertPersonSuccess(person, created);
      }),
  }),
  deletePerson: t.field({
    type: DeletePersonPayload,
    description: 'Deletes a person; their records stay, no longer linked to anyone. Needs people:write.',
    args: { id: t.arg.id({ required: true, description: 'The id of the person to delete.' }) },
    resolve: (_root, args, ctx) =>
      mutate(ctx, 'people:write', async (em, viewer) => {
        const id = parseId(args.id, 'id');
        await deletePerson(em, viewer.organizationId, id);
        return new DeletePersonSuccess(id);
      }, { oneStatement: true }),
  }),
}));
