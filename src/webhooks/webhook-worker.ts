import type { FastifyBaseLogger } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import type { MikroORM } from '../database/orm.ts';
import { query, readTimestamp, sql } from '../database/sql.ts';
import { DELIVERY_TIMEOUT_MS, type DeliveryOutcome, deliver } from './webhook-delivery.ts';
import { outboxInsert, restInstant } from './webhook.queries.ts';
import { MAX_ATTEMPTS, MAX_CONSECUTIVE_FAILURES, retryDelayMs } from './webhook.rules.ts';
import { onOutboxWrite } from './outbox-signal.ts';

/**
 * The longest a process sleeps without looking at the outbox. It wakes sooner after its own writes
 * that queued messages, when a message it knows of falls due (a retry, a lease that ends), and on a
 * replay; this bound catches what other processes queued or left behind (one that died mid-delivery).
 */
const IDLE_MS = 60_000;
/** Messages one process delivers at once. */
const BATCH = 20;
/**
 * A claimed message belongs to its worker until then; a worker that died (SIGKILL, lost machine)
 * leaves it to any other once this passes, and the receiver gets it again with the same webhook-id.
 */
const LEASE_MS = DELIVERY_TIMEOUT_MS + 5_000;

interface ClaimedRow {
  id: string;
  organization_id: string;
  endpoint_id: string;
  type: string;
  payload: unknown;
  created_at: string;
  attempts: number;
  url: string;
  secret: string;
}

/**
 * Delivers the outbox, at least once: each process claims due messages with FOR UPDATE SKIP LOCKED
 * (so processes and instances share the queue without delivering one message twice at a time), POSTs
 * them, and records every attempt. A failure is retried with exponential backoff and jitter up to
 * MAX_ATTEMPTS; MAX_CONSECUTIVE_FAILURES in a row disable the endpoint, with a
 * `webhook_endpoint.disabled` event to the organization's other endpoints.
 */
export function startWebhookWorker(deps: { orm: MikroORM; log: FastifyBaseLogger; allowPrivateUrls: boolean }) {
  const { orm, log } = deps;
  const deliveries = new Counter({ name: 'webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome (succeeded, failed).', labelNames: ['outcome'] as const, registers: [] });
  const latency = new Histogram({
    name: 'webhook_delivery_duration_seconds',
    help: 'How long receivers took to answer a delivery attempt.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [],
  });
  const inFlight = new Map<string, AbortController>();
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let warned = false;
  let timer: NodeJS.Timeout | undefined;

  async function claim(): Promise<ClaimedRow[]> {
    return await query(
      orm.em.fork(),
      sql<ClaimedRow>`with "due" as (
          select e."id" from "webhook_event" e join "webhook_endpoint" w on w."id" = e."endpoint_id" and w."enabled"
          where e."status" = 'pending' and e."next_attempt_at" <= now() and (e."locked_until" is null or e."locked_until" < now())
          order by e."next_attempt_at" limit ${BATCH} for update of e skip locked
        )
        update "webhook_event" e set "locked_until" = now() + ${`${LEASE_MS} milliseconds`}::interval, "attempts" = e."attempts" + 1
        from "due", "webhook_endpoint" w where e."id" = "due"."id" and w."id" = e."endpoint_id"
        returning e."id", e."organization_id", e."endpoint_id", e."type", e."payload", e."created_at", e."attempts", w."url", w."secret"`,
    );
  }

  /** Records the attempt and what follows from it, in one statement. */
  async function settle(row: ClaimedRow, outcome: DeliveryOutcome): Promise<void> {
    const organizationId = Number(row.organization_id);
    const endpointId = Number(row.endpoint_id);
    const gaveUp = !outcome.ok && row.attempts >= MAX_ATTEMPTS;
    const status = outcome.ok ? 'delivered' : gaveUp ? 'failed' : 'pending';
    const retryAt = new Date(Date.now() + retryDelayMs(row.attempts)).toISOString();
    const reason = `Disabled after ${MAX_CONSECUTIVE_FAILURES} failed deliveries in a row; the last: ${outcome.error ?? 'no answer'}`;
    const [result] = await query(
      orm.em.fork(),
      sql<{ disabled_now: boolean }>`with "attempt" as (
          insert into "webhook_delivery" ("organization_id", "event_id", "attempt", "status", "response_status", "latency_ms", "error", "created_at")
          values (${organizationId}, ${row.id}, ${row.attempts}, ${outcome.ok ? 'succeeded' : 'failed'}, ${outcome.responseStatus}, ${outcome.latencyMs}, ${outcome.error}, now())
        ), "event" as (
          update "webhook_event" set "status" = ${status}, "locked_until" = null,
            "next_attempt_at" = ${status === 'pending' ? retryAt : null}::timestamptz, "delivered_at" = ${outcome.ok ? sql`now()` : sql`null`}
          where "id" = ${row.id}
        ), "before" as (
          select "enabled", "consecutive_failures" from "webhook_endpoint" where "id" = ${endpointId}
        ), "endpoint" as (
          update "webhook_endpoint" w set
            "consecutive_failures" = ${outcome.ok ? sql`0` : sql`w."consecutive_failures" + 1`},
            "enabled" = ${outcome.ok ? sql`w."enabled"` : sql`w."enabled" and w."consecutive_failures" + 1 < ${MAX_CONSECUTIVE_FAILURES}`},
            "disabled_reason" = ${outcome.ok ? sql`w."disabled_reason"` : sql`case when w."enabled" and w."consecutive_failures" + 1 >= ${MAX_CONSECUTIVE_FAILURES} then ${reason} else w."disabled_reason" end`}
          where w."id" = ${endpointId}
          returning w."enabled"
        )
        select coalesce((select "enabled" from "before"), false) and not coalesce((select "enabled" from "endpoint"), true) as "disabled_now"`,
    );
    if (result?.disabled_now) {
      log.warn({ webhook_endpoint_id: endpointId, organization_id: organizationId }, 'webhook endpoint disabled after failed deliveries in a row');
      await query(
        orm.em.fork(),
        outboxInsert(organizationId, {
          type: 'webhook_endpoint.disabled',
          data: sql`(select jsonb_build_object('id', d."id", 'url', d."url", 'enabled', d."enabled", 'consecutive_failures', d."consecutive_failures", 'disabled_reason', d."disabled_reason",
            'disabled_at', ${restInstant(sql`now()`)}) from "webhook_endpoint" d where d."id" = ${endpointId})`,
          exceptEndpoint: endpointId,
        }),
      );
    }
  }

  async function deliverOne(row: ClaimedRow): Promise<void> {
    const controller = new AbortController();
    inFlight.set(row.id, controller);
    try {
      const outcome = await deliver(
        row.url,
        row.secret,
        { id: row.id, type: row.type, organizationId: Number(row.organization_id), createdAt: readTimestamp(orm.em, row.created_at), data: row.payload },
        { allowPrivate: deps.allowPrivateUrls, signal: controller.signal },
      );
      // Stopping aborted it: the message goes back to the outbox unattempted (see stop()).
      if (controller.signal.aborted) return;
      deliveries.inc({ outcome: outcome.ok ? 'succeeded' : 'failed' });
      latency.observe(outcome.latencyMs / 1000);
      // An endpoint deleted meanwhile took its messages with it; its attempt has nothing to record.
      await settle(row, outcome).catch((error: unknown) => log.warn({ err: error, webhook_event_id: row.id }, 'a webhook delivery attempt could not be recorded; the event is tried again once its lease ends'));
    } finally {
      inFlight.delete(row.id);
    }
  }

  /** How long until the next message of an enabled endpoint is due (its retry, or the end of its lease); null when none is pending. */
  async function nextDueInMs(): Promise<number | null> {
    const [row] = await query(
      orm.em.fork(),
      sql<{ wait_ms: number | null }>`select extract(epoch from min(greatest(e."next_attempt_at", coalesce(e."locked_until", e."next_attempt_at"))) - now()) * 1000 as "wait_ms"
        from "webhook_event" e join "webhook_endpoint" w on w."id" = e."endpoint_id" and w."enabled" where e."status" = 'pending'`,
    );
    return row?.wait_ms === null || row?.wait_ms === undefined ? null : Number(row.wait_ms);
  }

  function sleep(ms: number): void {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(run, Math.max(0, Math.min(ms, IDLE_MS))).unref();
  }

  async function tick(): Promise<void> {
    try {
      for (;;) {
        if (stopped) return;
        const claimed = await claim();
        if (claimed.length === 0) break;
        await Promise.all(claimed.map((row) => deliverOne(row)));
      }
      if (stopped) return;
      warned = false;
      sleep((await nextDueInMs()) ?? IDLE_MS);
    } catch (error) {
      if (!warned) log.warn({ err: error }, 'webhook delivery paused: the outbox could not be read or written');
      warned = true;
      sleep(IDLE_MS / 10);
    }
  }

  /** Runs a tick now, or right after the one running (which may have missed what woke this one). */
  function run(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = tick().finally(() => {
      running = null;
      if (again) {
        again = false;
        run();
      }
    });
  }

  const wake = () => run();
  const stopListening = onOutboxWrite(wake);
  run();

  return {
    metrics: [deliveries, latency],

    /**
     * Stops claiming; deliveries still running are aborted and their messages handed back to the
     * outbox (due at once, the attempt not counted), so another process delivers them.
     */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      stopListening();
      const unfinished = [...inFlight.keys()];
      for (const controller of inFlight.values()) controller.abort();
      await running;
      if (unfinished.length === 0) return;
      await query(
        orm.em.fork(),
        sql`update "webhook_event" set "locked_until" = null, "attempts" = greatest("attempts" - 1, 0) where "id" = any(${unfinished}::text[]) and "status" = 'pending'`,
      ).catch((error: unknown) => log.warn({ err: error }, 'could not hand unfinished webhook deliveries back; they are retried once their lease ends'));
    },
  };
}

export type WebhookWorker = ReturnType<typeof startWebhookWorker>;
