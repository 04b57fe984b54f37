import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OperationDefinitionNode } from 'graphql';
import type { MikroORM } from '../database/orm.ts';
import { AuthenticationError } from '../errors/api-error.ts';
import type { EventBus } from '../events/event-bus.ts';
import { type Ahead, lookAhead } from '../graphql/ahead.ts';
import { requestHash, runIdempotent, type StoredResponse, type WriteResponse } from './idempotency.ts';

/**
 * The one path of a write sent with an Idempotency-Key, REST route or GraphQL mutation alike: the
 * request is identified by its organization, key, method, path, query string and JSON body; `write`
 * runs `operation` inside the transaction that stores its response and says whether that response is
 * kept. What the operation needs ahead of that transaction (ahead.ts) is resolved before it opens,
 * for a replay too: only the transaction tells a replay apart. A replay is marked with
 * Idempotency-Replayed; the caller sends the response it gets back. The events of the write are
 * published once its transaction has committed.
 */
export async function respondIdempotently(
  request: FastifyRequest,
  reply: FastifyReply,
  key: string,
  deps: { orm: MikroORM; idempotencyTtlSeconds: number; events: EventBus },
  { operation, variables }: { operation: OperationDefinitionNode | null | undefined; variables: unknown },
  write: (em: EntityManager, ahead: Ahead) => Promise<WriteResponse>,
): Promise<StoredResponse> {
  if (!request.viewer) throw new AuthenticationError('API_TOKEN_MISSING');
  const ahead = await lookAhead(request.viewer, operation, variables);
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
    (em) => write(em, ahead),
  );
  deps.events.publish(committed);
  if (replayed) reply.header('Idempotency-Replayed', 'true');
  return response;
}
