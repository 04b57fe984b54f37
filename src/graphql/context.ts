import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import { AuthenticationError } from '../errors/api-error.ts';
import type { Scope } from '../organizations/scopes.ts';
import { assertScope, type Viewer } from '../organizations/viewer.ts';

/** One per GraphQL operation: its own EntityManager fork; the dataloaders hang off this object too. */
export interface Context {
  em: EntityManager;
  viewer: Viewer | null;
  requestId: string;
  publicUrl: string;
  log: FastifyBaseLogger;
}

export function createContext(base: Context): Context {
  return { ...base, em: base.em.fork() };
}

/** Every data field calls this first: no token means API_TOKEN_MISSING, a missing scope INSUFFICIENT_SCOPE. */
export function authorize(ctx: Context, scope: Scope): Viewer {
  if (!ctx.viewer) throw new AuthenticationError('API_TOKEN_MISSING');
  assertScope(ctx.viewer, scope);
  return ctx.viewer;
}
