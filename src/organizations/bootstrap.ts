import type { EntityManager } from '@mikro-orm/postgresql';
import { Organization } from './organization.entity.ts';
import { scopes } from './scopes.ts';
import { type CreatedKey, createApiKey } from './tokens.ts';

export const DEVELOPMENT_ORGANIZATION = 'development';

/** On the very first start (no organization yet), a development organization and an all-scopes token. */
export async function bootstrapDevelopmentKey(em: EntityManager): Promise<CreatedKey | null> {
  if ((await em.count(Organization, {})) > 0) return null;
  return await createApiKey(em, DEVELOPMENT_ORGANIZATION, scopes, null);
}
