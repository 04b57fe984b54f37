import type { EntityManager } from '@mikro-orm/postgresql';
import { ConflictError, FieldErrors, type NotFoundError, ValidationError } from '../errors/api-error.ts';
import { personNotFound } from '../people/person.queries.ts';
import { findSourceOrFail } from '../sources/source.queries.ts';
import { describeValue, isText, parseDateTime } from '../validation/values.ts';
import { checkRecordFields, type RecordField } from './record-fields.ts';
import { allocateRecordIds, findExistingPeopleIds, findRecordIdsByExternalIds, findRecordOrFail, insertRecords } from './record.queries.ts';
import type { FeedbackRecord } from './record.entity.ts';

export const MAX_BATCH = 500;

export interface RecordInput {
  personId?: string | number | null;
  displayTs?: string | null;
  externalId?: string | null;
  fields: unknown;
}

/** Why one item of a batch was not ingested. */
export type IngestFailure = ValidationError | NotFoundError | ConflictError;

export interface RecordDraft {
  personId: number | null;
  displayTs: Date;
  externalId: string | null;
  fields: RecordField[];
}

/** Checks one record and reports every failing field; paths are relative to the record. */
export function checkRecordInput(input: RecordInput, now: Date): RecordDraft {
  const errors = new FieldErrors();
  const fields = checkRecordFields(input.fields, errors);
  let personId: number | null = null;
  if (input.personId !== undefined && input.personId !== null) {
    const text = String(input.personId);
    personId = /^[1-9]\d{0,15}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
    if (personId === null) errors.add('personId', 'INVALID_ID', `personId must be a positive integer id; got ${describeValue(input.personId)}.`);
  }
  let displayTs = now;
  if (input.displayTs !== undefined && input.displayTs !== null) {
    const parsed = typeof input.displayTs === 'string' ? parseDateTime(input.displayTs) : null;
    if (parsed) displayTs = parsed;
    else errors.add('displayTs', 'INVALID_FIELD_VALUE', `displayTs must be an RFC 3339 date-time with an offset, e.g. 2025-03-14T09:26:53Z; got ${describeValue(input.displayTs)}.`);
  }
  const externalId = input.externalId ?? null;
  if (externalId !== null && !isText(externalId, 255)) {
    errors.add('externalId', 'INVALID_FIELD_VALUE', `externalId must be 1 to 255 characters; got ${describeValue(externalId)}.`);
  }
  errors.throwIfAny();
  return { personId, displayTs, externalId, fields };
}

function duplicate(externalId: string, existingId: number | undefined): ConflictError {
  return new ConflictError('DUPLICATE_EXTERNAL_ID', {
    param: 'externalId',
    message: `A record with external_id "${externalId}" already exists in this source: record ${existingId ?? 'being ingested'}.`,
  });
}

/**
 * Ingests a batch into one source; each item succeeds or fails on its own and results keep the input
 * order. The unique index on (source, external_id) decides duplicates, also between concurrent batches.
 */
export async function ingestRecords(em: EntityManager, organizationId: number, sourceId: number, inputs: readonly RecordInput[]): Promise<(FeedbackRecord | IngestFailure)[]> {
  if (inputs.length === 0 || inputs.length > MAX_BATCH) {
    throw new ValidationError('INVALID_FIELD_VALUE', { param: 'records', message: `records must hold 1 to ${MAX_BATCH} items; got ${inputs.length}.` });
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
  await findSourceOrFail(em, organizationId, sourceId, 'sourceId');

  const drafts = () => outcomes.flatMap((outcome, index) => (outcome instanceof Error ? [] : [{ draft: outcome, index }]));
  const personIds = [...new Set(drafts().flatMap(({ draft }) => (draft.personId === null ? [] : [draft.personId])))];
  const knownPeople = await findExistingPeopleIds(em, organizationId, personIds);
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
  const ids = await allocateRecordIds(em, toInsert.length);
  const rows = toInsert.map(({ draft, index }, i) => ({ ...draft, index, id: ids[i] as number }));
  const inserted = new Map((await insertRecords(em, organizationId, sourceId, rows)).map((record) => [record.id, record]));
  const conflicting = rows.filter((row) => !inserted.has(row.id)).map((row) => row.externalId as string);
  const existingIds = await findRecordIdsByExternalIds(em, organizationId, sourceId, conflicting);

  // Every item left as a draft is one of `rows` or a repeat, so each position is filled below.
  const results = new Array<FeedbackRecord | IngestFailure>(inputs.length);
  outcomes.forEach((outcome, index) => {
    if (outcome instanceof Error) results[index] = outcome;
  });
  for (const row of rows) {
    // Only a row with an external_id can be skipped by ON CONFLICT.
    results[row.index] = inserted.get(row.id) ?? duplicate(row.externalId as string, existingIds.get(row.externalId as string));
  }
  for (const [index, externalId] of repeated) {
    const first = results[firstByExternalId.get(externalId) as number];
    results[index] = duplicate(externalId, first instanceof Error ? existingIds.get(externalId) : first?.id);
  }
  return results;
}

export async function deleteRecord(em: EntityManager, organizationId: number, id: number, sourceId: number | null): Promise<void> {
  const record = await findRecordOrFail(em, organizationId, id, sourceId);
  em.remove(record);
  await em.flush();
}
