import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { query, sql } from '../database/sql.ts';
import { AuthenticationError } from '../errors/api-error.ts';
import { ApiKey } from './api-key.entity.ts';
import { Organization } from './organization.entity.ts';
import { isScope, type Scope } from './scopes.ts';
import type { Viewer } from './viewer.ts';

const TOKEN_PREFIX = 'fgw_';

/** Every server process listens here; the payload is the id of the key revoked. */
export const API_KEY_REVOKED_CHANNEL = 'api_key_revoked';

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
 * Revokes a key (keeping the first revocation's time) and tells every running server, whose token
 * caches drop it. The notification is part of the transaction, so it is sent only if the revocation
 * commits; it is sent again for a key already revoked, which costs nothing. Null when no key has the id.
 */
export async function revokeApiKey(em: EntityManager, id: number): Promise<Date | null> {
  return await em.transactional(async (tx) => {
    const [key] = await query(tx, sql<{ revoked_at: Date }>`update "api_key" set "revoked_at" = coalesce("revoked_at", now()) where "id" = ${id} returning "revoked_at"`);
    if (!key) return null;
    await query(tx, sql`select pg_notify(${API_KEY_REVOKED_CHANNEL}, ${String(id)})`);
    return new Date(key.revoked_at);
  });
}

/** What a token's key says about it: whom it authenticates, and until when. */
export interface KeyStanding {
  viewer: Viewer;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/**
 * The key whose token has this SHA-256, in one statement, through the unique index on the hash, so
 * response time does not depend on how much of a guessed token is right. Null for an unknown token.
 */
export async function findKeyByTokenHash(em: EntityManager, tokenHash: string): Promise<KeyStanding | null> {
  // Every request that misses the token cache runs this, so it is a plain read rather than an entity load.
  const [key] = await query(
    em,
    sql<{ id: string; organization_id: string; organization_name: string; scopes: string[]; expires_at: Date | null; revoked_at: Date | null }>`
      select k."id", k."organization_id", o."name" as "organization_name", k."scopes", k."expires_at", k."revoked_at"
      from "api_key" k join "organization" o on o."id" = k."organization_id"
      where k."token_hash" = ${tokenHash}`,
  );
  if (!key) return null;
  return {
    viewer: { organizationId: Number(key.organization_id), organizationName: key.organization_name, apiKeyId: Number(key.id), scopes: key.scopes.filter(isScope) },
    expiresAt: key.expires_at === null ? null : new Date(key.expires_at),
    revokedAt: key.revoked_at === null ? null : new Date(key.revoked_at),
  };
}

/** The viewer of a key that is neither revoked nor expired at `now`; else the refusal. */
export function viewerOfKey(key: KeyStanding | null, now: Date): Viewer {
  if (!key) throw new AuthenticationError('API_TOKEN_INVALID');
  if (key.revokedAt) throw new AuthenticationError('API_TOKEN_REVOKED', { message: `The API token was revoked at ${key.revokedAt.toISOString()}.` });
  if (key.expiresAt && key.expiresAt <= now) throw new AuthenticationError('API_TOKEN_EXPIRED', { message: `The API token expired at ${key.expiresAt.toISOString()}.` });
  return key.viewer;
}
