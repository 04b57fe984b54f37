import { wrap } from '@mikro-orm/core';
import { ConflictError, NotFoundError, PermissionError, ValidationError } from '../errors/api-error.ts';
import { builder } from '../graphql/builder.ts';
import { authorize } from '../graphql/context.ts';
import { parseId, parseTextFilter } from '../graphql/ids.ts';
import { mutate } from '../graphql/mutation.ts';
import { readPage, toConnection } from '../graphql/pagination.ts';
import { DeleteSuccess, deleteSuccessType } from '../graphql/payloads.ts';
import { Company } from './company.entity.ts';
import { Person } from './person.entity.ts';
import { findCompaniesByIds, findPeopleByIds, findPersonOrFail, listPeople } from './person.queries.ts';
import { boundaries, deletePerson, upsertPerson } from './person.rules.ts';

export const CompanyRef = builder.loadableObjectRef<Company, number>('Company', {
  load: (ids, ctx) => findCompaniesByIds(ctx.em, authorize(ctx, 'people:read').organizationId, ids),
  toKey: (company) => company.id,
  sort: true,
  cacheResolved: true,
});

CompanyRef.implement({
  isTypeOf: (value) => value instanceof Company,
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    domain: t.exposeString('domain', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const PersonRef = builder.loadableObjectRef<Person, number>('Person', {
  load: (ids, ctx) => findPeopleByIds(ctx.em, authorize(ctx, 'people:read').organizationId, ids),
  toKey: (person) => person.id,
  sort: true,
  cacheResolved: true,
});

const PersonBoundary = builder.enumType('PersonBoundary', { values: boundaries });

PersonRef.implement({
  description: 'Someone who gave feedback, with their company.',
  isTypeOf: (value) => value instanceof Person,
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email', { nullable: true }),
    externalId: t.exposeString('externalId', { nullable: true }),
    firstName: t.exposeString('firstName', { nullable: true }),
    lastName: t.exposeString('lastName', { nullable: true }),
    phone: t.exposeString('phone', { nullable: true, description: 'E.164, e.g. +14155550123.' }),
    boundary: t.field({ type: PersonBoundary, resolve: (person) => (person.boundary === 'internal' ? 'internal' : 'external') }),
    companyId: t.id({ nullable: true, resolve: (person) => person.company?.id ?? null }),
    company: t.field({
      type: CompanyRef,
      nullable: true,
      // The people loader brings companies along; only a person loaded some other way needs the company loader.
      resolve: (person) => (person.company && wrap(person.company).isInitialized() ? person.company : (person.company?.id ?? null)),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const PersonConnection = builder.connectionObject({ type: PersonRef, name: 'PersonConnection' });

builder.queryFields((t) => ({
  people: t.field({
    type: PersonConnection,
    description: 'The organization\'s people, newest first.',
    args: { email: t.arg.string({ description: 'Only the person with this email (case-insensitive).' }), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const viewer = authorize(ctx, 'people:read');
      const page = readPage(args, 1);
      return toConnection(await listPeople(ctx.em, viewer.organizationId, page, { email: parseTextFilter(args.email, 'email') }), page, (person) => [person.id]);
    },
  }),
  person: t.field({
    type: PersonRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => await findPersonOrFail(ctx.em, authorize(ctx, 'people:read').organizationId, parseId(args.id, 'id')),
  }),
}));

const CompanyInputRef = builder.inputType('CompanyInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1–255 characters.' }),
    domain: t.string({ description: 'Matches an existing company by domain before name.' }),
  }),
});

const UpsertPersonInput = builder.inputType('UpsertPersonInput', {
  description: 'Matched by externalId when given, else by email (case-insensitive). Omitted fields keep their value; null clears.',
  fields: (t) => ({
    externalId: t.string(),
    email: t.string(),
    firstName: t.string(),
    lastName: t.string(),
    phone: t.string({ description: 'E.164: +, country code and number, no spaces or dashes.' }),
    boundary: t.string({ description: 'external (default) or internal.' }),
    company: t.field({ type: CompanyInputRef, description: 'Upserted by domain, else by name, and linked; null unlinks.' }),
  }),
});

class UpsertPersonSuccess {
  readonly person: Person;
  readonly created: boolean;
  constructor(person: Person, created: boolean) {
    this.person = person;
    this.created = created;
  }
}

builder.objectType(UpsertPersonSuccess, {
  name: 'UpsertPersonSuccess',
  isTypeOf: (value) => value instanceof UpsertPersonSuccess,
  fields: (t) => ({
    person: t.field({ type: PersonRef, resolve: (result) => result.person }),
    created: t.exposeBoolean('created', { description: 'True when the person was created, false when updated.' }),
  }),
});

class DeletePersonSuccess extends DeleteSuccess {}
deleteSuccessType(DeletePersonSuccess, 'DeletePersonSuccess');

const UpsertPersonPayload = builder.errorUnion('UpsertPersonPayload', {
  types: [UpsertPersonSuccess, ValidationError, ConflictError, PermissionError],
});
const DeletePersonPayload = builder.errorUnion('DeletePersonPayload', {
  types: [DeletePersonSuccess, ValidationError, NotFoundError, PermissionError],
});

builder.mutationFields((t) => ({
  upsertPerson: t.field({
    type: UpsertPersonPayload,
    args: { input: t.arg({ type: UpsertPersonInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      mutate(ctx, 'people:write', async (em, viewer) => {
        const { person, created } = await upsertPerson(em, viewer.organizationId, input);
        return new UpsertPersonSuccess(person, created);
      }),
  }),
  deletePerson: t.field({
    type: DeletePersonPayload,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      mutate(ctx, 'people:write', async (em, viewer) => {
        const id = parseId(args.id, 'id');
        await deletePerson(em, viewer.organizationId, id);
        return new DeletePersonSuccess(id);
      }),
  }),
}));
