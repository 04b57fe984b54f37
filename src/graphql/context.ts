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
   * True when `em` is a transaction opened for this single operation (a REST write with an
   * Idempotency-Key): its mutation then needs no savepoint of its own.
   */
  operationTransaction?: boolean;
  /**
   * Whether mutations wrote or failed, which decides whether an idempotent request's response is
   * stored. An object, so that copies of the context (GraphQL Yoga extends it) share it.
   */
  outcome: { failed: boolean; written: boolean; operation?: string };
}

/** Forks the EntityManager, unless it already runs an idempotent request's transaction, which the operation must join. */
export function createContext(base: Omit<Context, 'outcome'>): Context {
  return { ...base, em: base.em.isInTransaction() ? base.em : base.em.fork(), outcome: { failed: false, written: false } };
}

/** Every data field calls this first: no token means API_TOKEN_MISSING, a missing scope INSUFFICIENT_SCOPE. */
export function authorize(ctx: Context, scope: Scope): Viewer {
  if (!ctx.viewer) throw new AuthenticationError('API_TOKEN_MISSING');
  assertScope(ctx.viewer, scope);
  return ctx.viewer;
}
