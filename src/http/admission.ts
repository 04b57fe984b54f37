import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServerError } from '../errors/api-error.ts';
import { sendError } from './errors.ts';
import type { Metrics } from './metrics.ts';

/**
 * API requests a process runs at once, per pooled database connection, unless
 * MAX_CONCURRENT_REQUESTS says otherwise. A request holds a connection only for its statements and
 * spends the rest of its time in this process (parsing, resolvers, serialising), so a few requests
 * per connection keep the pool busy; more only queue. In the benchmark's overload scenario (200
 * connections, 2 cores) the p99 of admitted requests was 0.14–0.38 s with 4, against 1.8–2.2 s
 * without a limit.
 */
export const REQUESTS_PER_CONNECTION = 4;

/** What a refused client is told to wait: the queue of admitted requests drains well within it. */
const RETRY_AFTER_SECONDS = 1;

/** MAX_CONCURRENT_REQUESTS when set (0: no limit), else derived from the pool's size (pg's default is 10). */
export function admissionLimit(configured: number | undefined, poolSize: number | undefined): number {
  return configured ?? REQUESTS_PER_CONNECTION * (poolSize ?? 10);
}

/**
 * Load shedding for the API routes of `api` (GraphQL and REST; not the probes, metrics or docs):
 * beyond `limit` requests in flight, more are answered at once with 503 SERVICE_OVERLOADED
 * (retryable, Retry-After) rather than waiting seconds for a database connection while holding
 * memory, and a client that retries finds a queue that has drained.
 *
 * The check runs twice. On arrival, before authentication, so that a refusal costs no statement and
 * no body parsing; and once the body has arrived, where an admitted request takes its place until
 * its response is finished or its connection closes. Counting from arrival instead would let
 * clients that trickle their bodies (for up to the 30 s request timeout) hold every place while
 * running nothing; the second check bounds a burst that passed the first one together. A client
 * that hangs up frees its place at once; what its request still runs is bounded by the database
 * timeouts.
 *
 * A count, rather than the event loop's delay or the memory in use: those are sampled, and on a
 * shared host they move with the neighbours' load. The count is exact when the decision is made,
 * and it bounds the pool's queue (at most `limit` requests wait for a connection), the work queued
 * ahead of an admitted request and the memory requests hold.
 *
 * A subscription's event stream gives its place back once the stream starts: its cost was its start
 * (token, document, a lookup or two), and a stream open for hours would otherwise hold a place all
 * that time, so that a few subscribers could shut the API for everyone else.
 */
export function registerAdmission(api: FastifyInstance, limit: number, metrics: Metrics, publicUrl: string): void {
  if (limit === 0) return;
  let inFlight = 0;
  // Built once: it carries nothing of a request, and under overload a refusal is the commonest answer.
  const overloaded = new ServerError('SERVICE_OVERLOADED');
  const refuse = (request: FastifyRequest, reply: FastifyReply) => {
    metrics.requestsShed.inc();
    reply.header('Retry-After', RETRY_AFTER_SECONDS);
    sendError(publicUrl, request, reply, overloaded);
  };
  api.addHook('onRequest', (request, reply, done) => {
    if (inFlight >= limit) return refuse(request, reply);
    done();
  });
  const places = new WeakMap<FastifyRequest, () => void>();
  api.addHook('preValidation', (request, reply, done) => {
    if (inFlight >= limit) return refuse(request, reply);
    inFlight += 1;
    metrics.requestsInFlight.inc();
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      inFlight -= 1;
      metrics.requestsInFlight.dec();
    };
    places.set(request, release);
    // Emitted once the response is finished, or when the connection closes before it is.
    reply.raw.once('close', release);
    done();
  });
  api.addHook('onSend', (request, reply, payload, done) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream')) places.get(request)?.();
    done(null, payload);
  });
}
