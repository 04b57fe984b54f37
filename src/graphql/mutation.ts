import type { EntityManager } from '@mikro-orm/postgresql';
import type { Scope } from '../organizations/scopes.ts';
import type { Viewer } from '../organizations/viewer.ts';
import { authorize, type Context } from './context.ts';

/**
 * The body of every mutation resolver: checks the scope, runs the write in a transaction (a
 * savepoint when an idempotent request's transaction is open), and records a failure on the context.
 */
export async function mutate<T>(ctx: Context, scope: Scope, write: (em: EntityManager, viewer: Viewer) => Promise<T>): Promise<T> {
  try {
    const viewer = authorize(ctx, scope);
    const result = ctx.operationTransaction ? await write(ctx.em, viewer) : await ctx.em.transactional((em) => write(em, viewer));
    ctx.outcome.written = true;
    return result;
  } catch (error) {
    ctx.outcome.failed = true;
    ctx.outcome.error = error;
    throw error;
  }
}
