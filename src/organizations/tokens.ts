import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { query, sql } from '../database/sql.ts';
import { AuthenticationError } from '../errors/api-error.ts';
import { ApiKey } from './api-key.entity.ts';
import { Organization } from './organization.entity.ts';
import { isScope, type Scope } from './scopes.ts';
import type { Viewer } from './viewer.ts';

const TOKEN_PREFIX = 'fgw_';

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface CreatedKey {
  key: ApiKey;
  organization: Organization;
  token: string;
}

/** Creates an API key (and its organization when it does not exist yet); the token is returned once. */
export async function createApiKey(em: EntityManager, organizationName: string, keyScopes: readonly Scope[], expiresAt: Date | null): Promise<CreatedKey> {
  return await em.transactional(async (tx) => {
    // Two CLIs creating the same organization at once must not fail or create it twice.
    await query(tx, sql`insert into "organization" ("name", "created_at") values (${organizationName}, now()) on conflict ("name") do nothing`);
    const organization = await tx.findOneOrFail(Organization, { name: organizationName });
    const token = generateToken();
    const key = tx.create(ApiKey, { organization, tokenHash: hashToken(token), scopes: [...keyScopes], expiresAt, revokedAt: null });
    await tx.flush();
    return { key, organization, token };
  });
}

/**
 * Resolves a presented token to its viewer in one statement. The lookup is by hash through a unique
 * index, so response time does not depend on how much of a guessed token is right.
 */
export async function authenticate(em: EntityManager, token: string, now = new Date()): Promise<Viewer> {
  // Every request runs this, so it is a plain read rather than an entity load.
  const [key] = await query(
    em,
    sql<{ id: string; organization_id: string; organization_name: string; scopes: string[]; expires_at: Date | null; revoked_at: Date | null }>`
      select k."id", k."organization_id", o."name" as "organization_name", k."scopes", k."expires_at", k."revoked_at"
      from "api_key" k join "organization" o on o."id" = k."organization_id"
      where k."token_hash" = ${hashToken(token)}`,
  );
  if (!key) throw new AuthenticationError('API_TOKEN_INVALID');
  if (key.revoked_at) throw new AuthenticationError('API_TOKEN_REVOKED', { message: `The API token was revoked at ${new Date(key.revoked_at).toISOString()}.` });
  if (key.expires_at && new Date(key.expires_at) <= now) {
    throw new AuthenticationError('API_TOKEN_EXPIRED', { message: `The API token expired at ${new Date(key.expires_at).toISOString()}.` });
  }
  return {
    organizationId: Number(key.organization_id),
    organizationName: key.organization_name,
    apiKeyId: Number(key.id),
    scopes: key.scopes.filter(isScope),
  };
}
