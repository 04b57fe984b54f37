import { defineEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.ts';

const CompanySchema = defineEntity({
  name: 'Company',
  uniques: [
    { name: 'company_organization_domain_unique', properties: ['organization', 'domain'] },
    // Companies without a domain are matched by name, so only those names must be unique.
    {
      name: 'company_organization_name_without_domain_unique',
      expression: 'create unique index "company_organization_name_without_domain_unique" on "company" ("organization_id", "name") where "domain" is null',
    },
  ],
  // Companies without a domain are found by name, whether or not a same-named one has a domain.
  indexes: [{ name: 'company_organization_name_index', properties: ['organization', 'name'] }],
  properties: {
    id: p.bigint('number').primary(),
    organization: () => p.manyToOne(Organization).deleteRule('cascade'),
    name: p.string().length(255),
    domain: p.string().length(253).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export class Company extends CompanySchema.class {}
CompanySchema.setClass(Company);
export { CompanySchema };
