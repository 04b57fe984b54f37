import type { EntityManager } from '@mikro-orm/postgresql';
import type { DomainEvent } from '../events/domain-events.ts';
import type { Scope } from '../organizations/scopes.ts';
import type { Viewer } from '../organizations/viewer.ts';
import { wakeAfterCommit } from '../webhooks/outbox-signal.ts';
import { authorize, type Context } from './context.ts';

export interface MutateOptions {
  /**
   * The write is one statement (reads may follow it), atomic by itself: it runs without BEGIN and
   * COMMIT. Inside a transaction the GraphQL request opened it still gets a savepoint, so that its
   * failure leaves the document's other mutations able to run.
   */
  oneStatement?: boolean;
}

/** Records what a write did, to be published once it has committed. */
export type Emit = (event: DomainEvent) => void;

/**
 * The body of every mutation resolver: checks the scope, runs the write in a transaction (a
 * savepoint when an idempotent request's transaction is open), and records a failure on the context.
 * The transaction of a REST write or of a one-mutation GraphQL document sent with an Idempotency-Key is
 * the operation's own, rolled back whole when the write fails, so it needs no savepoint.
 *
 * The events a write emits are published, and the webhook messages it queued signalled, once it has
 * committed: here, when it committed by itself; by the code that commits the request's transaction
 * otherwise. A write that fails emits nothing.
 */
export async function mutate<T>(ctx: Context, scope: Scope, write: (em: EntityManager, viewer: Viewer, emit: Emit) => Promise<T>, options: MutateOptions = {}): Promise<T> {
  try {
    const viewer = authorize(ctx, scope);
    const direct = ctx.operationTransaction === true || (options.oneStatement === true && !ctx.em.isInTransaction());
    const emitted: DomainEvent[] = [];
    const emit: Emit = (event) => emitted.push(event);
    const run = () => (direct ? write(ctx.em, viewer, emit) : ctx.em.transactional((em) => write(em, viewer, emit)));
    const result = ctx.afterCommit ? await run() : await wakeAfterCommit(run);
    ctx.outcome.written = true;
    if (ctx.afterCommit) ctx.afterCommit.add(emitted);
    else ctx.events.publish(emitted);
    return result;
  } catch (error) {
    ctx.outcome.failed = true;
    ctx.outcome.error = error;
    throw error;
  }
}
