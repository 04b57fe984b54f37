import { send } from './http.ts';

/** One write of the stream: what was sent, and how (or whether) it was answered. */
export interface StreamedWrite {
  protocol: 'rest' | 'graphql';
  /** The Idempotency-Key it was sent with, or null. */
  key: string | null;
  externalId: string;
  /** The fields it carries, to recognise a partial record. */
  fields: { category: string; type: string; name: string; value: unknown }[];
  /** `acknowledged`: REST 201, or GraphQL 200 with IngestRecordSuccess; `refused`: any other answer; `unanswered`: none. */
  outcome: 'pending' | 'acknowledged' | 'refused' | 'unanswered';
  status: number | null;
  /** The record id of an acknowledged write. */
  recordId: string | null;
}

export interface WriteAnswer {
  status: number;
  replayed: boolean;
  /** The record id when the write succeeded, else null. */
  recordId: string | null;
  text: string;
}

const INGEST = `mutation Ingest($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on IngestRecordSuccess { record { id } } ... on Error { code message } }
}`;

/** Sends one write (REST POST …/records or GraphQL ingestRecord) exactly as the stream sent it. */
export async function sendWrite(base: string, token: string, sourceId: string, write: StreamedWrite, timeoutMs = 10_000): Promise<WriteAnswer> {
  const headers: Record<string, string> = { 'x-api-token': token };
  if (write.key !== null) headers['idempotency-key'] = write.key;
  const rest = write.protocol === 'rest';
  const json = rest
    ? { external_id: write.externalId, fields: write.fields }
    : { query: INGEST, variables: { sourceId, input: { externalId: write.externalId, fields: write.fields } } };
  const reply = await send<{ id?: number; data?: { ingestRecord?: { __typename: string; record?: { id: string } } } } | undefined>(base, {
    method: 'POST',
    path: rest ? `/v3/rest/feedback-sources/${sourceId}/records` : '/graphql',
    headers,
    json,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const succeeded = rest ? reply.status === 201 : reply.status === 200 && reply.body?.data?.ingestRecord?.__typename === 'IngestRecordSuccess';
  const recordId = succeeded ? String(rest ? reply.body?.id : reply.body?.data?.ingestRecord?.record?.id) : null;
  return { status: reply.status, replayed: reply.headers.get('idempotency-replayed') === 'true', recordId, text: reply.text };
}

/**
 * Worker `w` of `workers` sends writes one after the other until `stopped()`; the workers split
 * evenly between REST and GraphQL, with and without an Idempotency-Key. A write whose request fails
 * (the server died) is unanswered and ends the worker.
 */
export async function runWorker(w: number, base: string, token: string, sourceId: string, stopped: () => boolean, into: StreamedWrite[]): Promise<void> {
  const protocol = w % 2 === 0 ? 'rest' : 'graphql';
  const keyed = Math.floor(w / 2) % 2 === 0;
  for (let i = 0; !stopped(); i++) {
    const externalId = `crash-w${w}-${i}`;
    const write: StreamedWrite = {
      protocol,
      key: keyed ? `key-${externalId}` : null,
      externalId,
      fields: [
        { category: 'content', type: 'string', name: 'subject', value: `Checkout fails (${externalId})` },
        { category: 'metadata', type: 'integer', name: 'sequence', value: i },
        { category: 'metadata', type: 'json', name: 'context', value: { worker: w, protocol, keyed } },
      ],
      outcome: 'pending',
      status: null,
      recordId: null,
    };
    into.push(write);
    try {
      const answer = await sendWrite(base, token, sourceId, write);
      write.status = answer.status;
      write.recordId = answer.recordId;
      write.outcome = answer.recordId === null ? 'refused' : 'acknowledged';
    } catch {
      write.outcome = 'unanswered';
      return;
    }
  }
}
