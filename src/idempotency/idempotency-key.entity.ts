import { defineEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.ts';

/** A write's stored response, replayed when the same Idempotency-Key comes again (SPEC §7). */
const IdempotencyKeySchema = defineEntity({
  name: 'IdempotencyKey',
  uniques: [{ name: 'idempotency_key_organization_key_unique', properties: ['organization', 'key'] }],
  indexes: [{ name: 'idempotency_key_expires_at_index', properties: ['expiresAt'] }],
  properties: {
    id: p.bigint('number').primary(),
    organization: () => p.manyToOne(Organization).deleteRule('cascade'),
    key: p.string().length(255),
    method: p.string().length(10),
    path: p.text(),
    requestHash: p.string().length(64),
    status: p.smallint(),
    contentType: p.string().length(255),
    responseBody: p.text(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
  },
});

export class IdempotencyKey extends IdempotencyKeySchema.class {}
IdempotencyKeySchema.setClass(IdempotencyKey);
export { IdempotencyKeySchema };
