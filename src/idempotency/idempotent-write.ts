import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MikroORM } from '../database/orm.ts';
import { AuthenticationError } from '../errors/api-error.ts';
import type { EventBus } from '../events/event-bus.ts';
import { requestHash, runIdempotent, type StoredResponse, type WriteResponse } from './idempotency.ts';

/**
 * The one path of a write sent with an Idempotency-Key, REST route or GraphQL mutation alike: the
 * request is identified by its organization, key, method, path, query string and JSON body; `write`
 * runs inside the transaction that stores its response and says whether that response is kept. A
 * replay is marked with Idempotency-Replayed; the caller sends the response it gets back. The events
 * of the write are published once its transaction has committed.
 */
export async function respondIdempotently(
  request: FastifyRequest,
  reply: FastifyReply,
  key: string,
  deps: { orm: MikroORM; idempotencyTtlSeconds: number; events: EventBus },
  write: (em: EntityManager) => Promise<WriteResponse>,
): Promise<StoredResponse> {
  if (!request.viewer) throw new AuthenticationError('API_TOKEN_MISSING');
  const path = request.url.split('?')[0] ?? request.url;
  const { response, replayed, committed } = await runIdempotent(
    deps.orm,
    {
      organizationId: request.viewer.organizationId,
      key,
      method: request.method,
      path,
      hash: requestHash(request.url.slice(path.length), request.body, request.rawBody),
      ttlSeconds: deps.idempotencyTtlSeconds,
    },
    write,
  );
  deps.events.publish(committed);
  if (replayed) reply.header('Idempotency-Replayed', 'true');
  return response;
}
