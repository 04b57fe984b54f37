import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../http/metrics.ts';
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
  metrics: Metrics;
  /**
   * True when `em` is a transaction opened for this single operation (a REST write, or a GraphQL
   * document of one mutation, sent with an Idempotency-Key): its mutation then needs no savepoint.
   */
  operationTransaction?: boolean;
  /**
   * Whether mutations wrote or failed, which decides whether an idempotent request's response is
   * stored, and the error a failed mutation threw, which REST answers with as it was thrown. An
   * object, so that copies of the context (GraphQL Yoga extends it) share it.
   */
  outcome: { failed: boolean; written: boolean; operation?: string; error?: unknown };
}

/** Forks the EntityManager, unless it already runs an idempotent request's transaction, which the operation must join. */
export function createContext(base: Omit<Context, 'outcome'>): Context {
  return { ...base, em: base.em.isInTransaction() ? base.em : base.em.fork(), outcome: { failed: false, written: false } };
}

/**
 * The token's viewer, without a scope check: for reads inside something the token was already allowed
 * to see (a person's company), whose organization still scopes the query.
 */
export function authenticate(ctx: Context): Viewer {
  if (!ctx.viewer) throw new AuthenticationError('API_TOKEN_MISSING');
  return ctx.viewer;
}

/**
 * Every field that reads or writes a resource calls this first: no token means API_TOKEN_MISSING, a
 * missing scope INSUFFICIENT_SCOPE. Such a field is nullable, so a refusal nulls only that field.
 */
export function authorize(ctx: Context, scope: Scope): Viewer {
  const viewer = authenticate(ctx);
  assertScope(viewer, scope);
  return viewer;
}
