import { defineEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.ts';

const FeedbackSourceSchema = defineEntity({
  name: 'FeedbackSource',
  uniques: [{ name: 'feedback_source_organization_name_unique', properties: ['organization', 'name'] }],
  // Serves the newest-first listing of an organization's sources (keyset pagination).
  indexes: [{ name: 'feedback_source_organization_id_index', properties: ['organization', 'id'] }],
  properties: {
    id: p.bigint('number').primary(),
    organization: () => p.manyToOne(Organization).deleteRule('cascade'),
    name: p.string().length(255),
    type: p.string().length(64),
    description: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});

export class FeedbackSource extends FeedbackSourceSchema.class {}
FeedbackSourceSchema.setClass(FeedbackSource);
export { FeedbackSourceSchema };
