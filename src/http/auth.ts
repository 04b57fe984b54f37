import type { IncomingHttpHeaders } from 'node:http';
import { AuthenticationError } from '../errors/api-error.ts';
import type { TokenCache } from '../organizations/token-cache.ts';
import type { Viewer } from '../organizations/viewer.ts';

/** The token from `x-api-token`, else from `Authorization: Bearer`; null when neither is sent. */
export function presentedToken(headers: IncomingHttpHeaders): string | null {
  const header = headers['x-api-token'];
  if (typeof header === 'string' && header.length > 0) return header;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (match?.[1]) return match[1];
  // A common integration mistake deserves its own answer rather than a bare "missing token".
  if (headers['x-api-key'] !== undefined) throw new AuthenticationError('WRONG_AUTH_HEADER');
  return null;
}

/** Null when the request carries no credentials (allowed for GraphiQL and introspection); throws when they are bad. */
export async function viewerOf(tokens: TokenCache, headers: IncomingHttpHeaders): Promise<Viewer | null> {
  const token = presentedToken(headers);
  return token === null ? null : await tokens.authenticate(token);
}
