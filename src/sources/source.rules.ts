import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { query, sql } from '../database/sql.ts';
import { ConflictError, FieldErrors } from '../errors/api-error.ts';
import { describeValue, isText } from '../validation/values.ts';
import { deleteSourceRow, existsRecordInSource, FeedbackSourceView, findSourceEntityOrFail, insertSource, queueSourceUpdated, sourceNotFound } from './source.queries.ts';
import { grouped } from '../http/limits.ts';

export const MAX_SOURCE_NAME_LENGTH = 255;
export const MAX_SOURCE_TYPE_LENGTH = 64;
export const SOURCE_TYPE = new RegExp(`^[a-z0-9_]{1,${MAX_SOURCE_TYPE_LENGTH}}$`);
export const DEFAULT_SOURCE_TYPE = 'api';
export const MAX_DESCRIPTION_LENGTH = 2000;

export interface SourceInput {
  name?: string | null;
  type?: string | null;
  description?: string | null;
}

function checkSourceInput(input: SourceInput, creating: boolean): FieldErrors {
  const errors = new FieldErrors();
  const { name, type, description } = input;
  if (name !== undefined || creating) {
    if (!isText(name, MAX_SOURCE_NAME_LENGTH, { allowBlank: false })) {
      errors.add('name', 'INVALID_FIELD_VALUE', (n) => `${n('name')} must be 1 to ${MAX_SOURCE_NAME_LENGTH} characters, not only spaces; got ${describeValue(name)}.`);
    }
  }
  if (type !== undefined && type !== null && (typeof type !== 'string' || !SOURCE_TYPE.test(type))) {
    errors.add('type', 'INVALID_FIELD_VALUE', (n) => `${n('type')} must be 1 to ${MAX_SOURCE_TYPE_LENGTH} characters of a-z, 0-9 and _; got ${describeValue(type)}.`);
  }
  if (type === null && !creating) errors.add('type', 'INVALID_FIELD_VALUE', (n) => `${n('type')} cannot be null; omit it to keep the current type.`);
  if (description !== undefined && description !== null && !isText(description, MAX_DESCRIPTION_LENGTH) && description !== '') {
    errors.add('description', 'INVALID_FIELD_VALUE', (n) => `${n('description')} must be at most ${grouped(MAX_DESCRIPTION_LENGTH)} characters; got ${describeValue(description)}.`);
  }
  return errors;
}

function nameTaken(name: string): ConflictError {
  return new ConflictError('FEEDBACK_SOURCE_NAME_TAKEN', { param: 'name', message: `A feedback source named "${name}" already exists.` });
}

/** The unique index decides, so two concurrent creations with one name leave exactly one row. */
async function flushUniqueName(em: EntityManager, name: string): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw nameTaken(name);
    throw error;
  }
}

/** One statement, which also queues the source's webhook event; the unique index decides a name taken concurrently. */
export async function createSource(em: EntityManager, organizationId: number, input: SourceInput): Promise<FeedbackSourceView> {
  checkSourceInput(input, true).throwIfAny();
  const name = input.name as string;
  const source = await insertSource(em, organizationId, { name, type: input.type ?? DEFAULT_SOURCE_TYPE, description: input.description ?? null });
  if (!source) throw nameTaken(name);
  return source;
}

export async function updateSource(em: EntityManager, organizationId: number, id: number, input: SourceInput): Promise<FeedbackSourceView> {
  checkSourceInput(input, false).throwIfAny();
  const source = await findSourceEntityOrFail(em, organizationId, id);
  if (typeof input.name === 'string') source.name = input.name;
  if (typeof input.type === 'string') source.type = input.type;
  if (input.description !== undefined) source.description = input.description;
  await flushUniqueName(em, source.name);
  await queueSourceUpdated(em, organizationId, source.id);
  return new FeedbackSourceView(source);
}

/** PostgreSQL's foreign_key_violation, as the driver raises it for a hand-written statement. */
const isForeignKeyViolation = (error: unknown): boolean => error instanceof Error && 'code' in error && error.code === '23503';

/**
 * Refuses while records exist unless `cascade`; a record ingested meanwhile makes the delete fail, not
 * orphan it. Every statement is scoped to the organization, so an unknown source is found by the delete.
 */
export async function deleteSource(em: EntityManager, organizationId: number, id: number, cascade: boolean): Promise<void> {
  const notEmpty = () => new ConflictError('FEEDBACK_SOURCE_NOT_EMPTY', { param: 'id', message: `Feedback source ${id} still has records; delete them first or pass cascade=true.` });
  try {
    if (cascade) {
      await query(em, sql`delete from "feedback_record" where "source_id" = ${id} and "organization_id" = ${organizationId}`);
    } else {
      if (await existsRecordInSource(em, organizationId, id)) throw notEmpty();
    }
    // Also queues the source's webhook event, in the same statement.
    if (!(await deleteSourceRow(em, organizationId, id))) throw sourceNotFound(id);
  } catch (error) {
    if (isForeignKeyViolation(error)) throw notEmpty();
    throw error;
  }
}
