import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { type DomainEvent, type DomainEventType, domainEventTypes, type EventOfType } from './domain-events.ts';

/** How a subscriber is connected, for the open-subscriptions gauge. */
export type SubscriptionTransport = 'sse' | 'websocket';

/**
 * Events a subscriber has not read yet. A client that falls this far behind (it stopped reading its
 * stream) is told so and its subscription ended, rather than holding ever more memory here.
 */
export const MAX_UNREAD_EVENTS = 1_000;

/** What a subscription yields instead of an event once its client fell MAX_UNREAD_EVENTS behind; the last item. */
export const FELL_BEHIND = Symbol('fell behind');

const isOfType = <T extends DomainEventType>(event: DomainEvent, type: T): event is EventOfType<T> => event.type === type;

const CHANNEL_PREFIX = 'feedback-gateway:events';
const channelOf = (type: DomainEventType, organizationId: number) => `${CHANNEL_PREFIX}:${type}:${organizationId}`;

/**
 * A subscription's events, read by its transport (an SSE response, a graphql-ws socket). It listens
 * from the moment it is created, so a client whose subscription was answered misses nothing
 * committed after that; `end()` finishes it after the events already queued, `return()` (the client
 * went away) at once.
 */
export class EventStream<T> implements AsyncIterableIterator<T | typeof FELL_BEHIND> {
  readonly #queue: (T | typeof FELL_BEHIND)[] = [];
  #waiting: ((result: IteratorResult<T | typeof FELL_BEHIND, undefined>) => void) | null = null;
  #ended = false;
  readonly #release: () => void;

  constructor(release: () => void) {
    this.#release = release;
  }

  /** Delivers one event, unless the stream ended; past MAX_UNREAD_EVENTS, ends it with FELL_BEHIND. */
  push(event: T): void {
    if (this.#ended) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = null;
      waiting({ value: event, done: false });
    } else if (this.#queue.length < MAX_UNREAD_EVENTS) {
      this.#queue.push(event);
    } else {
      this.#queue.push(FELL_BEHIND);
      this.end();
    }
  }

  /** Stops listening; the client still gets what was queued, then the end of the stream. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#release();
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T | typeof FELL_BEHIND, undefined>> {
    if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift() as T | typeof FELL_BEHIND, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T | typeof FELL_BEHIND, undefined>> {
    this.#queue.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Carries events between the instances: this process alone, or every process subscribed to a Redis. */
interface Transport {
  publish(channel: string, event: DomainEvent): void;
  /**
   * Calls `deliver` with each event of `channel` published by another process; `ready` settles once
   * the other processes' events are heard (or after SUBSCRIBE_WAIT_MS), `stop` ends it.
   */
  listen(channel: string, deliver: (event: DomainEvent) => void): { ready: Promise<void>; stop(): void };
  close(): Promise<void>;
}

function isDomainEvent(value: unknown): value is DomainEvent {
  if (typeof value !== 'object' || value === null || !('type' in value) || !('organizationId' in value)) return false;
  return domainEventTypes.some((type) => type === value.type) && typeof value.organizationId === 'number';
}

/**
 * Redis pub/sub, on two connections of its own (a subscribed connection can do nothing else). Each
 * message names the process that sent it: that process delivered it to its own subscribers already,
 * so they get it even while Redis is unreachable, and only once. A command that fails is logged, never
 * left as an unhandled rejection; while Redis is down, events do not reach other instances.
 */
/** How long a new subscription waits for Redis to confirm it listens; an unreachable Redis must not hold it. */
const SUBSCRIBE_WAIT_MS = 1_000;

function redisTransport(Client: typeof Redis, url: string, log: FastifyBaseLogger): Transport {
  const origin = randomUUID();
  // Publishes are dropped rather than queued while Redis is unreachable: a late event is worth less
  // than the memory a long outage would fill with them.
  const publisher = new Client(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  // Subscriptions wait for the connection instead, and ioredis subscribes again after a reconnect.
  const subscriber = new Client(url, { maxRetriesPerRequest: null, connectTimeout: 2_000 });
  let warned = false;
  const warn = (error: unknown, what: string) => {
    if (warned) return;
    warned = true;
    log.warn({ err: error }, `Redis for subscriptions: ${what}; events reach only this instance's subscribers until it is back`);
  };
  for (const client of [publisher, subscriber]) {
    client.on('error', (error) => warn(error, 'unreachable'));
    client.on('ready', () => {
      warned = false;
    });
  }

  const listeners = new Map<string, { callbacks: Set<(event: DomainEvent) => void>; subscribed: Promise<void> }>();
  subscriber.on('message', (channel: string, message: string) => {
    const deliver = listeners.get(channel)?.callbacks;
    if (!deliver) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || !('origin' in parsed) || !('event' in parsed)) return;
    if (parsed.origin === origin || !isDomainEvent(parsed.event)) return;
    for (const callback of deliver) callback(parsed.event);
  });

  return {
    publish(channel, event) {
      publisher.publish(channel, JSON.stringify({ origin, event })).catch((error: unknown) => warn(error, 'an event could not be published'));
    },
    listen(channel, deliver) {
      let listener = listeners.get(channel);
      if (!listener) {
        const subscribed = subscriber.subscribe(channel).then(
          () => undefined,
          (error: unknown) => warn(error, `could not subscribe to ${channel}`),
        );
        listener = { callbacks: new Set(), subscribed };
        listeners.set(channel, listener);
      }
      listener.callbacks.add(deliver);
      const ready = Promise.race([listener.subscribed, delay(SUBSCRIBE_WAIT_MS, undefined, { ref: false })]);
      const stop = () => {
        const current = listeners.get(channel);
        if (!current?.callbacks.delete(deliver) || current.callbacks.size > 0) return;
        listeners.delete(channel);
        subscriber.unsubscribe(channel).catch((error: unknown) => warn(error, `could not unsubscribe from ${channel}`));
      };
      return { ready, stop };
    },
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

/**
 * Events of committed writes, delivered to the subscriptions of their organization: in this process,
 * and with REDIS_URL in every instance sharing that Redis. Channels are per event type and
 * organization, so an instance receives only what its subscribers may see.
 */
export async function createEventBus(redisUrl: string | undefined, log: FastifyBaseLogger) {
  // ioredis loads only with REDIS_URL (about 3 MiB in each process otherwise).
  const transport = redisUrl ? redisTransport((await import('ioredis')).Redis, redisUrl, log) : null;
  const local = new Map<string, Set<(event: DomainEvent) => void>>();
  const open = new Set<{ end(): void }>();
  let closed = false;

  const published = new Counter({
    name: 'domain_events_published_total',
    help: 'Events of committed writes published to subscribers (and, with REDIS_URL, to the other instances), by type.',
    labelNames: ['type'] as const,
    registers: [],
  });
  const openGauge = new Gauge({
    name: 'graphql_subscriptions_open',
    help: 'GraphQL subscriptions open in this process, by transport (sse, websocket).',
    labelNames: ['transport'] as const,
    registers: [],
  });
  for (const transportName of ['sse', 'websocket'] as const) openGauge.set({ transport: transportName }, 0);

  const deliverLocally = (channel: string, event: DomainEvent) => {
    for (const deliver of local.get(channel) ?? []) deliver(event);
  };

  const metrics: (Counter | Gauge)[] = [published, openGauge];

  return {
    /** For the app's Prometheus registry. */
    metrics,

    /** Sends events of writes that committed; call it only after COMMIT (see AfterCommit). */
    publish(events: readonly DomainEvent[]): void {
      for (const event of events) {
        const channel = channelOf(event.type, event.organizationId);
        published.inc({ type: event.type });
        deliverLocally(channel, event);
        transport?.publish(channel, event);
      }
    },

    /**
     * The events of one type for one organization from now on (with REDIS_URL, once Redis confirms
     * it listens), until the client goes away or the server stops. After `close()` a new
     * subscription ends at once.
     */
    async subscribe<T extends DomainEventType>(type: T, organizationId: number, via: SubscriptionTransport): Promise<EventStream<EventOfType<T>>> {
      const channel = channelOf(type, organizationId);
      const stopListening: (() => void)[] = [];
      let counted = false;
      const stream = new EventStream<EventOfType<T>>(() => {
        for (const stop of stopListening) stop();
        open.delete(stream);
        if (counted) openGauge.dec({ transport: via });
      });
      if (closed) {
        stream.end();
        return stream;
      }
      open.add(stream);
      const deliver = (event: DomainEvent) => {
        if (isOfType(event, type)) stream.push(event);
      };
      let callbacks = local.get(channel);
      if (!callbacks) {
        callbacks = new Set();
        local.set(channel, callbacks);
      }
      callbacks.add(deliver);
      stopListening.push(() => {
        callbacks.delete(deliver);
        if (callbacks.size === 0) local.delete(channel);
      });
      if (transport) {
        const listening = transport.listen(channel, deliver);
        stopListening.push(listening.stop);
        await listening.ready;
      }
      if (open.has(stream)) {
        counted = true;
        openGauge.inc({ transport: via });
      }
      return stream;
    },

    /** Ends every subscription (an SSE stream then completes) and refuses new ones: the server is stopping. */
    endSubscriptions(): void {
      closed = true;
      for (const stream of [...open]) stream.end();
    },

    async close(): Promise<void> {
      this.endSubscriptions();
      await transport?.close();
    },
  };
}

export type EventBus = Awaited<ReturnType<typeof createEventBus>>;

/**
 * The events of writes made inside a transaction that another piece of code commits (an idempotent
 * request's): they wait here and are published by that code once it has committed, or dropped when
 * it rolls back. Keyed by the transaction's EntityManager, which every operation joining the
 * transaction is handed.
 */
export class AfterCommit {
  readonly #events: DomainEvent[] = [];

  add(events: readonly DomainEvent[]): void {
    this.#events.push(...events);
  }

  /** The events gathered so far, emptying the list. */
  take(): DomainEvent[] {
    return this.#events.splice(0);
  }
}

const transactions = new WeakMap<EntityManager, AfterCommit>();

/** Called by the code that opens (and will commit) a transaction other operations join. */
export function openAfterCommit(em: EntityManager): AfterCommit {
  const afterCommit = new AfterCommit();
  transactions.set(em, afterCommit);
  return afterCommit;
}

/** The list of the transaction `em` runs in; a transaction nobody publishes after is a bug, not a silent loss. */
export function afterCommitOf(em: EntityManager): AfterCommit {
  const afterCommit = transactions.get(em);
  if (!afterCommit) throw new Error('An operation joined a transaction that was not opened with openAfterCommit: its events would never be published.');
  return afterCommit;
}
