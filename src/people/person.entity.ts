import { defineEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.ts';
import { Company } from './company.entity.ts';

const PersonSchema = defineEntity({
  name: 'Person',
  uniques: [
    { name: 'person_organization_external_id_unique', properties: ['organization', 'externalId'] },
    // People are matched by email case-insensitively, so uniqueness must be too.
    {
      name: 'person_organization_email_unique',
      expression: 'create unique index "person_organization_email_unique" on "person" ("organization_id", lower("email"))',
    },
  ],
  indexes: [
    // Serves the newest-first listing of an organization's people (keyset pagination).
    { name: 'person_organization_id_index', properties: ['organization', 'id'] },
    // Finds a company's people: for records filtered by companyId, and for the foreign key when a company goes.
    { name: 'person_company_index', properties: ['company'] },
  ],
  properties: {
    id: p.bigint('number').primary(),
    organization: () => p.manyToOne(Organization).deleteRule('cascade'),
    email: p.string().length(320).nullable(),
    externalId: p.string().length(255).nullable(),
    firstName: p.string().length(255).nullable(),
    lastName: p.string().length(255).nullable(),
    phone: p.string().length(16).nullable(),
    boundary: p.string().length(16).default('external'),
    company: () => p.manyToOne(Company).nullable().deleteRule('set null'),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export class Person extends PersonSchema.class {}
PersonSchema.setClass(Person);
export { PersonSchema };
