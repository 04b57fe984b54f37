import type { EntityManager } from '@mikro-orm/postgresql';
import { ConflictError, FieldErrors, type NotFoundError, ValidationError } from '../errors/api-error.ts';
import { personNotFound } from '../people/person.queries.ts';
import { findSourceOrFail, sourceNotFound } from '../sources/source.queries.ts';
import { ID_RULE, parseId } from '../validation/ids.ts';
import { describeValue, isText, parseDateTime, STORABLE_YEARS } from '../validation/values.ts';
import { checkRecordFields } from './record-fields.ts';
import { deleteRecordById, type FeedbackRecordView, findRecordIdsByExternalIds, type InsertedDraft, insertRecords, type RecordDraft, recordNotFound } from './record.queries.ts';

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
    personId = parseId(input.personId);
    if (personId === null) errors.add('personId', 'INVALID_ID', (n) => `${n('personId')} must be ${ID_RULE}; got ${describeValue(input.personId)}.`);
  }
  let displayTs = now;
  if (input.displayTs !== undefined && input.displayTs !== null) {
    const parsed = typeof input.displayTs === 'string' ? parseDateTime(input.displayTs) : null;
    if (parsed) displayTs = parsed;
    else errors.add('displayTs', 'INVALID_FIELD_VALUE', (n) => `${n('displayTs')} must be an RFC 3339 date-time with an offset in years ${STORABLE_YEARS}, e.g. 2025-03-14T09:26:53Z; got ${describeValue(input.displayTs)}.`);
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
 * order. One statement checks the source and people and inserts; the unique index on (source,
 * external_id) decides duplicates, also between concurrent batches.
 */
export async function ingestRecords(em: EntityManager, organizationId: number, sourceId: number, inputs: readonly RecordInput[]): Promise<(FeedbackRecordView | IngestFailure)[]> {
  if (inputs.length === 0 || inputs.length > MAX_BATCH) {
    throw new ValidationError('INVALID_FIELD_VALUE', { param: 'records', message: (n) => `${n('records')} must hold 1 to ${MAX_BATCH} items; got ${inputs.length}.` });
  }
  const now = new Date();
  const results = new Array<FeedbackRecordView | IngestFailure>(inputs.length);
  const drafts: { draft: RecordDraft; index: number }[] = [];
  inputs.forEach((input, index) => {
    try {
      drafts.push({ draft: checkRecordInput(input, now), index });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      results[index] = error;
    }
  });
  if (drafts.length === 0) {
    // Nothing to insert, but an unknown source still fails the whole call.
    await findSourceOrFail(em, organizationId, sourceId, 'sourceId');
    return results;
  }

  const inserted = await insertRecords(em, organizationId, sourceId, drafts.map(({ draft }) => draft));
  if (!inserted.sourceExists) throw sourceNotFound(sourceId, 'sourceId');
  const outcomes = drafts.map(({ draft, index }, i) => ({ draft, index, ...(inserted.drafts[i] as InsertedDraft) }));
  // Who holds each external_id: a record of this batch (the first of repeated ones) or one stored before.
  const holders = new Map<string, number>();
  for (const { draft, record, existingId } of outcomes) {
    const holder = record?.id ?? existingId;
    if (draft.externalId !== null && holder !== null) holders.set(draft.externalId, holder);
  }
  // A concurrent request that stored the same external_id just before may be invisible to the
  // INSERT's own snapshot; a fresh look finds its id.
  const unseen = outcomes.flatMap(({ draft, personKnown }) => (personKnown && draft.externalId !== null && !holders.has(draft.externalId) ? [draft.externalId] : []));
  for (const [externalId, id] of await findRecordIdsByExternalIds(em, organizationId, sourceId, unseen)) holders.set(externalId, id);

  for (const { draft, index, record, personKnown } of outcomes) {
    if (!personKnown) results[index] = personNotFound(draft.personId as number, 'personId');
    else results[index] = record ?? duplicate(draft.externalId as string, holders.get(draft.externalId as string));
  }
  return results;
}

/** One statement; under `sourceId`, an unknown source is named before an unknown record. Answers the source the record was in. */
export async function deleteRecord(em: EntityManager, organizationId: number, id: number, sourceId: number | null): Promise<number> {
  const { deletedFrom, sourceExists } = await deleteRecordById(em, organizationId, id, sourceId);
  if (deletedFrom !== null) return deletedFrom;
  if (sourceId !== null && !sourceExists) throw sourceNotFound(sourceId, 'sourceId');
  throw recordNotFound(id);
}
