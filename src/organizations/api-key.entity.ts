import { defineEntity, p } from '@mikro-orm/core';
import { Organization } from './organization.entity.ts';

const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  properties: {
    id: p.bigint('number').primary(),
    organization: () => p.manyToOne(Organization).deleteRule('cascade'),
    // Only the SHA-256 of the token is kept; tokens are 256-bit random, so a slow hash adds nothing.
    tokenHash: p.string().length(64).unique(),
    scopes: p.array(),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class ApiKey extends ApiKeySchema.class {}
ApiKeySchema.setClass(ApiKey);
export { ApiKeySchema };
