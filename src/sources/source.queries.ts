import type { EntityManager } from '@mikro-orm/postgresql';
import { query, sql } from '../database/sql.ts';
import { NotFoundError } from '../errors/api-error.ts';
import type { Page } from '../graphql/pagination.ts';
import { FeedbackSource } from './source.entity.ts';

export function sourceNotFound(id: number, param = 'id'): NotFoundError {
  return new NotFoundError('FEEDBACK_SOURCE_NOT_FOUND', { param, message: `No feedback source with id ${id}.` });
}

export async function findSourceOrFail(em: EntityManager, organizationId: number, id: number, param = 'id'): Promise<FeedbackSource> {
  const source = await em.findOne(FeedbackSource, { id, organization: organizationId });
  if (!source) throw sourceNotFound(id, param);
  return source;
}

/** Loader batch: the sources among `ids` that belong to the organization, in any order. */
export async function findSourcesByIds(em: EntityManager, organizationId: number, ids: readonly number[]): Promise<FeedbackSource[]> {
  return await em.find(FeedbackSource, { id: { $in: [...ids] }, organization: organizationId });
}

/** Newest first; one row more than the page so the caller knows whether another page follows. */
export async function listSources(em: EntityManager, organizationId: number, page: Page, filter: { name?: string | null }): Promise<FeedbackSource[]> {
  return await em.find(
    FeedbackSource,
    {
      organization: organizationId,
      ...(typeof filter.name === 'string' ? { name: filter.name } : {}),
      ...(page.after ? { id: { $lt: Number(page.after[0]) } } : {}),
    },
    { orderBy: { id: 'desc' }, limit: page.limit + 1 },
  );
}

/** Loader batch: record counts per source id, in the order of `ids`. */
export async function countRecordsBySources(em: EntityManager, ids: readonly number[]): Promise<number[]> {
  const rows = await query(
    em,
    sql<{ source_id: string; count: string }>`select "source_id", count(*) as "count" from "feedback_record" where "source_id" = any(${[...ids]}::bigint[]) group by "source_id"`,
  );
  const counts = new Map(rows.map((row) => [Number(row.source_id), Number(row.count)]));
  return ids.map((id) => counts.get(id) ?? 0);
}
