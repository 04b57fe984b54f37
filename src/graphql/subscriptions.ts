import { clearAllDataLoaders } from '@pothos/plugin-dataloader';
import { type ApiError, AuthenticationError, PermissionError, ServerError } from '../errors/api-error.ts';
import type { DomainEventType, EventOfType } from '../events/domain-events.ts';
import { FELL_BEHIND, MAX_UNREAD_EVENTS } from '../events/event-bus.ts';
import type { Scope } from '../organizations/scopes.ts';
import { assertScope, type Viewer } from '../organizations/viewer.ts';
import { authorize, type Context } from './context.ts';

/** What a subscription field resolves: an event, or the refusal that ends the subscription after it. */
type Delivery<E> = { event: E } | { refused: ApiError };

/** A token is checked again at an event at most this often, so a burst of events costs one check. */
const RECHECK_TOKEN_MS = 1_000;

/**
 * The token is checked again before an event is delivered (revocation and expiry included): a
 * revoked token's subscription answers its next event with API_TOKEN_REVOKED and ends.
 */
function tokenChecker(ctx: Context, viewer: Viewer, scope: Scope) {
  // The first event is always checked; later ones when the last check is a second old.
  let checkedAt = 0;
  return async (): Promise<ApiError | null> => {
    if (!ctx.connection || Date.now() - checkedAt < RECHECK_TOKEN_MS) return null;
    checkedAt = Date.now();
    try {
      const now = await ctx.connection.authenticate();
      if (!now || now.apiKeyId !== viewer.apiKeyId) throw new AuthenticationError('API_TOKEN_MISSING');
      assertScope(now, scope);
      return null;
    } catch (error) {
      if (error instanceof AuthenticationError || error instanceof PermissionError) return error;
      throw error;
    }
  };
}

/**
 * The source of a subscription field: the events of `type` in the token's organization that
 * `accept` keeps, from the moment the subscription is accepted. Needs `scope`, checked now and again
 * at events. `return()` (the client went away) stops listening at once, without waiting for an event.
 */
export async function subscribeToEvents<T extends DomainEventType>(
  ctx: Context,
  scope: Scope,
  type: T,
  accept: (event: EventOfType<T>) => boolean,
): Promise<AsyncIterableIterator<Delivery<EventOfType<T>>>> {
  const viewer = authorize(ctx, scope);
  const stream = await ctx.events.subscribe(type, viewer.organizationId, ctx.connection?.transport ?? 'sse');
  const check = tokenChecker(ctx, viewer, scope);
  let finished = false;
  const end = (refused: ApiError): IteratorResult<Delivery<EventOfType<T>>, undefined> => {
    finished = true;
    void stream.return();
    return { value: { refused }, done: false };
  };
  const deliveries: AsyncIterableIterator<Delivery<EventOfType<T>>> = {
    async next() {
      while (!finished) {
        const item = await stream.next();
        if (item.done) break;
        if (item.value === FELL_BEHIND) {
          return end(new ServerError('SERVICE_OVERLOADED', { message: `This subscription fell more than ${MAX_UNREAD_EVENTS} events behind and was ended; subscribe again.` }));
        }
        // Channels are per organization; this holds even if a message were misrouted.
        if (item.value.organizationId !== viewer.organizationId || !accept(item.value)) continue;
        const refused = await check();
        if (refused) return end(refused);
        // Each event reads its relations afresh, as a new request would.
        clearAllDataLoaders(ctx);
        return { value: { event: item.value }, done: false };
      }
      return { value: undefined, done: true };
    },
    async return() {
      finished = true;
      await stream.return();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return deliveries;
    },
  };
  return deliveries;
}

/** The event of a delivery; a refusal is thrown, so the field answers null with that error. */
export function eventOf<E>(delivery: Delivery<E>): E {
  if ('refused' in delivery) throw delivery.refused;
  return delivery.event;
}
