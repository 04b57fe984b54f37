import type { EntityManager } from '@mikro-orm/postgresql';
import { ConflictError, FieldErrors, type NotFoundError, ValidationError } from '../errors/api-error.ts';
import { personNotFound } from '../people/person.queries.ts';
import { sourceNotFound } from '../sources/source.queries.ts';
import { describeValue, isText, parseDateTime } from '../validation/values.ts';
import { checkRecordFields } from './record-fields.ts';
import { findIngestTargets, findRecordIdsByExternalIds, findRecordOrFail, type InsertOutcome, insertRecords, type RecordDraft } from './record.queries.ts';
import type { FeedbackRecord } from './record.entity.ts';

export const MAX_BATCH = 500;
export const MAX_EXTERNAL_ID_LENGTH = 255;

export interface RecordInput {
  personId?: string | number | null;
  displayTs?: string | null;
  externalId?: string | null;
  fields: unknown;
}

/** Why one item of a batch was not ingested. */
export type IngestFailure = ValidationError | NotFoundError | ConflictError;

/** Checks one record and reports every failing field; paths are relative to the record. */
export function checkRecordInput(input: RecordInput, now: Date): RecordDraft {
  const errors = new FieldErrors();
  const fields = checkRecordFields(input.fields, errors);
  let personId: number | null = null;
  if (input.personId !== undefined && input.personId !== null) {
    const text = String(input.personId);
    personId = /^[1-9]\d{0,15}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
    if (personId === null) errors.add('personId', 'INVALID_ID', (n) => `${n('personId')} must be a positive integer id; got ${describeValue(input.personId)}.`);
  }
  let displayTs = now;
  if (input.displayTs !== undefined && input.displayTs !== null) {
    const parsed = typeof input.displayTs === 'string' ? parseDateTime(input.displayTs) : null;
    if (parsed) displayTs = parsed;
    else errors.add('displayTs', 'INVALID_FIELD_VALUE', (n) => `${n('displayTs')} must be an RFC 3339 date-time with an offset in years 0001–9999, e.g. 2025-03-14T09:26:53Z; got ${describeValue(input.displayTs)}.`);
  }
  const externalId = input.externalId ?? null;
  if (externalId !== null && !isText(externalId, MAX_EXTERNAL_ID_LENGTH)) {
    errors.add('externalId', 'INVALID_FIELD_VALUE', (n) => `${n('externalId')} must be 1 to ${MAX_EXTERNAL_ID_LENGTH} characters; got ${describeValue(externalId)}.`);
  }
  errors.throwIfAny();
  return { personId, displayTs, externalId, fields };
}

function duplicate(externalId: string, existingId: number | undefined): ConflictError {
  return new ConflictError('DUPLICATE_EXTERNAL_ID', {
    param: 'externalId',
    message: (n) => `A record with ${n('externalId')} "${externalId}" already exists in this source: record ${existingId ?? 'being ingested'}.`,
  });
}

/**
 * Ingests a batch into one source; each item succeeds or fails on its own and results keep the input
 * order. The unique index on (source, external_id) decides duplicates, also between concurrent batches.
 */
export async function ingestRecords(em: EntityManager, organizationId: number, sourceId: number, inputs: readonly RecordInput[]): Promise<(FeedbackRecord | IngestFailure)[]> {
  if (inputs.length === 0 || inputs.length > MAX_BATCH) {
    throw new ValidationError('INVALID_FIELD_VALUE', { param: 'records', message: (n) => `${n('records')} must hold 1 to ${MAX_BATCH} items; got ${inputs.length}.` });
  }
  const now = new Date();
  const outcomes: (RecordDraft | IngestFailure)[] = inputs.map((input) => {
    try {
      return checkRecordInput(input, now);
    } catch (error) {
      if (error instanceof ValidationError) return error;
      throw error;
    }
  });

  const drafts = () => outcomes.flatMap((outcome, index) => (outcome instanceof Error ? [] : [{ draft: outcome, index }]));
  const personIds = [...new Set(drafts().flatMap(({ draft }) => (draft.personId === null ? [] : [draft.personId])))];
  const targets = await findIngestTargets(em, organizationId, sourceId, personIds);
  if (!targets.sourceExists) throw sourceNotFound(sourceId, 'sourceId');
  const knownPeople = targets.people;
  const firstByExternalId = new Map<string, number>();
  const repeated = new Map<number, string>();
  for (const { draft, index } of drafts()) {
    if (draft.personId !== null && !knownPeople.has(draft.personId)) {
      outcomes[index] = personNotFound(draft.personId, 'personId');
    } else if (draft.externalId !== null && firstByExternalId.has(draft.externalId)) {
      repeated.set(index, draft.externalId);
    } else if (draft.externalId !== null) {
      firstByExternalId.set(draft.externalId, index);
    }
  }

  const toInsert = drafts().filter(({ index }) => !repeated.has(index));
  const stored = await insertRecords(em, organizationId, sourceId, toInsert.map(({ draft }) => draft));
  // A concurrent request that stored the same external_id just before may be invisible to the
  // INSERT's own snapshot; a fresh look finds its id.
  const unseen = toInsert.filter((_, i) => stored[i]?.record === null && stored[i]?.existingId === null).map(({ draft }) => draft.externalId as string);
  const seenNow = await findRecordIdsByExternalIds(em, organizationId, sourceId, unseen);

  // Every item left as a draft was inserted, skipped as a duplicate, or repeats an earlier item.
  const results = new Array<FeedbackRecord | IngestFailure>(inputs.length);
  outcomes.forEach((outcome, index) => {
    if (outcome instanceof Error) results[index] = outcome;
  });
  const holderOf = new Map<string, number | undefined>();
  toInsert.forEach(({ draft, index }, i) => {
    const { record, existingId } = stored[i] as InsertOutcome;
    const holder = record?.id ?? existingId ?? seenNow.get(draft.externalId as string);
    if (draft.externalId !== null) holderOf.set(draft.externalId, holder);
    results[index] = record ?? duplicate(draft.externalId as string, holder);
  });
  for (const [index, externalId] of repeated) results[index] = duplicate(externalId, holderOf.get(externalId));
  return results;
}

export async function deleteRecord(em: EntityManager, organizationId: number, id: number, sourceId: number | null): Promise<void> {
  const record = await findRecordOrFail(em, organizationId, id, sourceId);
  em.remove(record);
  await em.flush();
}
