import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import { type AfterCommit, afterCommitOf, type EventBus, type SubscriptionTransport } from '../events/event-bus.ts';
import type { Metrics } from '../http/metrics.ts';
import { AuthenticationError, type ParamNamer } from '../errors/api-error.ts';
import type { Scope } from '../organizations/scopes.ts';
import { assertScope, type Viewer } from '../organizations/viewer.ts';
import type { Ahead } from './ahead.ts';

/** One per GraphQL operation: its own EntityManager fork; the dataloaders hang off this object too. */
export interface Context {
  em: EntityManager;
  viewer: Viewer | null;
  requestId: string;
  publicUrl: string;
  /** WEBHOOK_ALLOW_PRIVATE_URLS: webhook URLs may be http:// and reach loopback and private addresses. */
  allowPrivateWebhookUrls: boolean;
  /**
   * What the operation needed resolved before its request's transaction opened (ahead.ts); absent
   * when no transaction was opened for it, and what it needs is then resolved where it is used.
   */
  ahead?: Ahead | undefined;
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
  /** Where mutations publish the events of what they wrote, and subscriptions read them. */
  events: EventBus;
  /**
   * The events of the transaction `em` runs in when another piece of code commits it (an idempotent
   * request's), which publishes them after COMMIT; null when each mutation commits its own write.
   */
  afterCommit: AfterCommit | null;
  /** For a subscription: how its client is connected. */
  connection?: SubscriberConnection;
  /**
   * How errors answered as data (a batch's failed items) spell the inputs they name: a REST route's
   * names; GraphQL's own when absent.
   */
  paramNames?: ParamNamer;
}

/** How a subscription's client is connected: for the metrics, and to check its token again at each event. */
export interface SubscriberConnection {
  transport: SubscriptionTransport;
  /** The viewer of the token the client connected with, as of now: a revoked or expired token throws. */
  authenticate(): Promise<Viewer | null>;
}

/** Forks the EntityManager, unless it already runs an idempotent request's transaction, which the operation must join. */
export function createContext(base: Omit<Context, 'outcome' | 'afterCommit'>): Context {
  const joined = base.em.isInTransaction();
  return { ...base, em: joined ? base.em : base.em.fork(), outcome: { failed: false, written: false }, afterCommit: joined ? afterCommitOf(base.em) : null };
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
