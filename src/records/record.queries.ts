import type { EntityManager } from '@mikro-orm/postgresql';
import type { RawBuilder } from 'kysely';
import type { Keyset, Page } from '../database/keyset.ts';
import { query, readTimestamp, sql } from '../database/sql.ts';
import { NotFoundError } from '../errors/api-error.ts';
import { outboxInsert, restInstant } from '../webhooks/webhook.queries.ts';
// Only a write that queued webhook messages wakes the delivery, so other writes cost no statement more.
import { noteQueuedMessages } from '../webhooks/outbox-signal.ts';
import { type FeedbackSourceView, findSourceOrFail, type SourceRow, sourceColumns, toSourceView } from '../sources/source.queries.ts';
import type { RecordField } from './record-fields.ts';
import { compileCondition, compileSearch, type RecordCondition, searchRank } from './record-filter.ts';

export function recordNotFound(id: number, param = 'id'): NotFoundError {
  return new NotFoundError('RECORD_NOT_FOUND', { param, message: `No feedback record with id ${id}.` });
}

/** What GraphQL's FeedbackRecord resolves from: a plain copy of the row, never a managed entity. */
export class FeedbackRecordView {
  readonly id: number;
  readonly sourceId: number;
  readonly personId: number | null;
  readonly externalId: string | null;
  readonly displayTs: Date;
  readonly fields: RecordField[];
  readonly createdAt: Date;
  /** The record's source when it was read in the same statement; undefined when it was not. */
  readonly source: FeedbackSourceView | undefined;
  constructor(record: Omit<FeedbackRecordView, 'source'>, source?: FeedbackSourceView) {
    this.id = record.id;
    this.sourceId = record.sourceId;
    this.personId = record.personId;
    this.externalId = record.externalId;
    this.displayTs = record.displayTs;
    this.fields = record.fields;
    this.createdAt = record.createdAt;
    this.source = source;
  }
}

interface RecordRow extends SourceRow {
  id: string;
  person_id: string | null;
  external_id: string | null;
  display_ts: string;
  fields: RecordField[];
  created_at: string;
}

const recordColumns = sql`select r."id", r."person_id", r."external_id", r."display_ts", r."fields", r."created_at", ${sourceColumns}`;
/** A record (`r`) with its source (`s`), joined by primary key in the record's organization. */
const recordWithSource = sql`${recordColumns}
  from "feedback_record" r join "feedback_source" s on s."id" = r."source_id" and s."organization_id" = r."organization_id"`;

/** Rows of one statement share one view of each source, as a loader would. */
function toRecordViews(em: EntityManager, rows: RecordRow[]): FeedbackRecordView[] {
  const sources = new Map<string, FeedbackSourceView>();
  return rows.map((row) => {
    const source = sources.get(row.source_id) ?? toSourceView(em, row);
    sources.set(row.source_id, source);
    return new FeedbackRecordView(
      {
        id: Number(row.id),
        sourceId: source.id,
        personId: row.person_id === null ? null : Number(row.person_id),
        externalId: row.external_id,
        displayTs: readTimestamp(em, row.display_ts),
        fields: row.fields,
        createdAt: readTimestamp(em, row.created_at),
      },
      source,
    );
  });
}

/**
 * With `sourceId`, a record of another source is as missing as one that never existed, and a
 * missing source is named as such.
 */
export async function findRecordOrFail(em: EntityManager, organizationId: number, id: number, sourceId: number | null): Promise<FeedbackRecordView> {
  const rows = await query(
    em,
    sql<RecordRow>`${recordWithSource} where r."id" = ${id} and r."organization_id" = ${organizationId} ${sourceId === null ? sql`` : sql`and r."source_id" = ${sourceId}`}`,
    { prepared: true },
  );
  const [record] = toRecordViews(em, rows);
  if (record) return record;
  if (sourceId !== null) await findSourceOrFail(em, organizationId, sourceId, 'sourceId');
  throw recordNotFound(id);
}

/** Loader batch: the records among `ids` that belong to the organization, each with its source, in any order. */
export async function findRecordsByIds(em: EntityManager, organizationId: number, ids: readonly number[]): Promise<FeedbackRecordView[]> {
  const rows = await query(em, sql<RecordRow>`${recordWithSource} where r."organization_id" = ${organizationId} and r."id" = any(${[...ids]}::bigint[])`, { prepared: true });
  return toRecordViews(em, rows);
}

export interface RecordFilter {
  sourceId?: number | null;
  personId?: number | null;
  since?: Date | null;
  until?: Date | null;
  /** The checked `filter` argument. */
  condition?: RecordCondition | null;
  /** Web-search text over the content fields. */
  search?: string | null;
}

export const orderKeys = ['DISPLAY_TS', 'CREATED_AT', 'FIELD', 'RELEVANCE'] as const;
export type OrderKey = (typeof orderKeys)[number];
export type Direction = 'ASC' | 'DESC';

/** One term of a listing's order; `field` names the field of a FIELD term. */
export interface RecordOrderTerm {
  key: OrderKey;
  field: string | null;
  direction: Direction;
}

/** Newest displayTs first: the order of a listing that asks for none. */
export const DEFAULT_ORDER: readonly RecordOrderTerm[] = [{ key: 'DISPLAY_TS', field: null, direction: 'DESC' }];

/** A listed record with the values of its sort key (as the database writes them), which its cursor holds. */
export interface ListedRecord {
  record: FeedbackRecordView;
  sortKey: string[];
}

/** Where a page starts: after the record with these sort key values and this id. */
export interface RecordPosition {
  values: string[];
  id: number;
}

/** A timestamp as a cursor holds it: UTC to the microsecond, as PostgreSQL keeps it. */
const CURSOR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
/** A field's sort value: the text of a PostgreSQL numeric. */
const CURSOR_NUMBER = /^-?\d{1,40}(\.\d{1,40})?$/;
/** A search rank: the text of a PostgreSQL real. */
const CURSOR_RANK = /^-?\d{1,40}(\.\d{1,40})?(e[-+]\d{1,3})?$/;

/**
 * The cursor key of a listing ordered by `order`, then by id: the sort key values, then the id. A
 * listing of a client-chosen order or filter carries them in its scope (see scopedKeyset).
 */
export function recordKeyset(order: readonly RecordOrderTerm[]): Keyset<ListedRecord, RecordPosition> {
  return {
    keyOf: (listed) => [...listed.sortKey, listed.record.id],
    positionOf: (key) => {
      if (key.length !== order.length + 1) return null;
      const id = key.at(-1);
      const values = key.slice(0, -1);
      const valid = order.every((term, index) => {
        const value = values[index];
        if (typeof value !== 'string') return false;
        if (term.key === 'RELEVANCE') return CURSOR_RANK.test(value);
        return term.key === 'FIELD' ? CURSOR_NUMBER.test(value) : CURSOR_INSTANT.test(value) && !Number.isNaN(Date.parse(value));
      });
      return valid && typeof id === 'number' ? { values: values.filter((value) => typeof value === 'string'), id } : null;
    },
  };
}

/** What `order` says in a cursor's scope. */
export function orderSignature(order: readonly RecordOrderTerm[]): string {
  return order.map((term) => `${term.key}${term.field === null ? '' : `(${term.field})`} ${term.direction}`).join(',');
}

/** A sort key term as SQL: the expression to order by, its value as the cursor writes it, and how a cursor value is read back. */
interface SortTerm {
  expression: RawBuilder<unknown>;
  text: RawBuilder<unknown>;
  read(value: string): RawBuilder<unknown>;
  join: RawBuilder<unknown> | null;
  direction: Direction;
}

const instantText = (expression: RawBuilder<unknown>) => sql`to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * A field's sort value: the number of an integer or float field, the epoch seconds of a date or
 * datetime field. A record without such a field has no place in the order and is not listed.
 */
function fieldSortJoin(alias: string, name: string): RawBuilder<unknown> {
  return sql`cross join lateral (select case f->>'type'
      when 'date' then extract(epoch from (f->>'value')::date::timestamp)
      when 'datetime' then extract(epoch from (f->>'value')::timestamptz)
      else (f->>'value')::numeric end as "value"
    from jsonb_array_elements(r."fields") f
    where f->>'name' = ${name} and f->>'type' in ('integer', 'float', 'date', 'datetime') limit 1) ${sql.id(alias)}`;
}

function sortTerms(order: readonly RecordOrderTerm[], search: string | null | undefined): SortTerm[] {
  return order.map((term, index) => {
    if (term.key === 'RELEVANCE') {
      const expression = searchRank(search ?? '');
      return { expression, text: sql`${expression}::text`, read: (value) => sql`${value}::real`, join: null, direction: term.direction };
    }
    if (term.key === 'FIELD') {
      const alias = `k${index}`;
      const expression = sql.ref(`${alias}.value`);
      return { expression, text: sql`${expression}::text`, read: (value) => sql`${value}::numeric`, join: fieldSortJoin(alias, term.field ?? ''), direction: term.direction };
    }
    const expression = term.key === 'DISPLAY_TS' ? sql.ref('r.display_ts') : sql.ref('r.created_at');
    return { expression, text: instantText(expression), read: (value) => sql`${value}::timestamptz`, join: null, direction: term.direction };
  });
}

/** Rows after `after` in the order of `terms` then id (id follows the last term's direction). */
function afterPosition(terms: SortTerm[], after: RecordPosition): RawBuilder<unknown> {
  const last = terms.at(-1)?.direction ?? 'DESC';
  const columns = [...terms.map((term) => ({ expression: term.expression, value: sql`${term.read(after.values[terms.indexOf(term)] ?? '')}`, direction: term.direction })), { expression: sql.ref('r.id'), value: sql`${after.id}::bigint`, direction: last }];
  const beyond = (direction: Direction) => (direction === 'DESC' ? sql`<` : sql`>`);
  if (columns.every((column) => column.direction === last)) {
    // One row comparison, which an index on these columns reads as a range.
    return sql`(${sql.join(columns.map((column) => column.expression))}) ${beyond(last)} (${sql.join(columns.map((column) => column.value))})`;
  }
  const alternatives = columns.map((column, index) =>
    sql.join([...columns.slice(0, index).map((before) => sql`${before.expression} = ${before.value}`), sql`${column.expression} ${beyond(column.direction)} ${column.value}`], sql` and `),
  );
  return sql`(${sql.join(alternatives, sql` or `)})`;
}

function conditionsOf(organizationId: number, filter: RecordFilter): RawBuilder<unknown>[] {
  return [
    sql`r."organization_id" = ${organizationId}`,
    filter.sourceId ? sql`r."source_id" = ${filter.sourceId}` : null,
    filter.personId ? sql`r."person_id" = ${filter.personId}` : null,
    filter.since ? sql`r."display_ts" >= ${filter.since.toISOString()}::timestamptz` : null,
    filter.until ? sql`r."display_ts" < ${filter.until.toISOString()}::timestamptz` : null,
    filter.condition ? compileCondition(filter.condition, organizationId) : null,
    filter.search ? compileSearch(filter.search) : null,
  ].filter((condition) => condition !== null);
}

/**
 * A page in `order`, then by id; `since` is inclusive, `until` exclusive. The default order reads an
 * index (source, person or organization, then display_ts and id), so a page reads only its own rows.
 */
export async function listRecords(
  em: EntityManager,
  organizationId: number,
  page: Page<RecordPosition>,
  filter: RecordFilter,
  order: readonly RecordOrderTerm[] = DEFAULT_ORDER,
): Promise<ListedRecord[]> {
  const terms = sortTerms(order, filter.search);
  const direction = (term: { direction: Direction }) => (term.direction === 'ASC' ? sql`asc` : sql`desc`);
  const last = direction(terms.at(-1) ?? { direction: 'DESC' });
  const conditions = [...conditionsOf(organizationId, filter), page.after ? afterPosition(terms, page.after) : null].filter((condition) => condition !== null);
  const joins = terms.flatMap((term) => (term.join === null ? [] : [term.join]));
  // The page is chosen from feedback_record alone, then each record's source is read by primary key: a
  // join before the limit would let the planner start from the sources and read each one's records.
  const rows = await query(
    em,
    sql<RecordRow & Record<`k${number}`, string>>`select r."id", r."person_id", r."external_id", r."display_ts", r."fields", r."created_at", ${sourceColumns}, ${sql.join(
      terms.map((_, index) => sql.ref(`r.k${index}`)),
    )}
      from (
        select r."id", r."organization_id", r."source_id", r."person_id", r."external_id", r."display_ts", r."fields", r."created_at",
          ${sql.join(terms.map((term, index) => sql`${term.expression} as ${sql.id(`s${index}`)}, ${term.text} as ${sql.id(`k${index}`)}`))}
        from "feedback_record" r ${sql.join(joins, sql` `)}
        where ${sql.join(conditions, sql` and `)}
        order by ${sql.join([...terms.map((term) => sql`${term.expression} ${direction(term)}`), sql`r."id" ${last}`])}
        limit ${page.limit + 1}
      ) r cross join lateral (
        -- Its limit keeps the planner from turning the lookup by primary key into a join over every source.
        select * from "feedback_source" s where s."id" = r."source_id" and s."organization_id" = r."organization_id" limit 1
      ) s
      order by ${sql.join([...terms.map((term, index) => sql`${sql.ref(`r.s${index}`)} ${direction(term)}`), sql`r."id" ${last}`])}`,
    // A page without a filter or search has one good plan whatever its values (an index in display_ts order).
    { prepared: !filter.condition && !filter.search && order.every((term) => term.key === 'DISPLAY_TS' || term.key === 'CREATED_AT') },
  );
  const records = toRecordViews(em, rows);
  return rows.map((row, index) => ({ record: records[index] as FeedbackRecordView, sortKey: terms.map((_, term) => row[`k${term}`] ?? '') }));
}

/** How many records the listing holds: its own statement, run only when a client asks. */
export async function countRecords(em: EntityManager, organizationId: number, filter: RecordFilter, order: readonly RecordOrderTerm[] = DEFAULT_ORDER): Promise<number> {
  const joins = sortTerms(order, filter.search).flatMap((term) => (term.join === null ? [] : [term.join]));
  const [row] = await query(
    em,
    sql<{ count: string }>`select count(*) as "count" from "feedback_record" r ${sql.join(joins, sql` `)} where ${sql.join(conditionsOf(organizationId, filter), sql` and `)}`,
  );
  return Number(row?.count ?? 0);
}

/** A checked record, ready to be inserted. */
export interface RecordDraft {
  personId: number | null;
  displayTs: Date;
  externalId: string | null;
  fields: RecordField[];
}

export interface InsertedDraft {
  /** The stored record; null when the person is unknown or the external_id is already held. */
  record: FeedbackRecordView | null;
  personKnown: boolean;
  /** For a draft skipped as a duplicate: the id of the record holding its external_id, when this statement could see it. */
  existingId: number | null;
}

/**
 * Ingests a batch in one statement, without a transaction of its own: it checks that the source and
 * the people belong to the organization, inserts the drafts whose person is known (or absent), skips
 * those whose external_id the source already holds (ON CONFLICT on the unique index, which also
 * settles concurrent batches and repeats within this one: the first in input order wins), and answers
 * per draft in input order (ids are drawn per input row, WITH ORDINALITY keeps the order). The holder
 * of a skipped external_id is looked up by equality on the unique index's columns.
 */
export async function insertRecords(
  em: EntityManager,
  organizationId: number,
  sourceId: number,
  drafts: readonly RecordDraft[],
): Promise<{ sourceExists: boolean; drafts: InsertedDraft[] }> {
  const column = <T>(pick: (draft: RecordDraft) => T) => drafts.map(pick);
  const personIds = [...new Set(drafts.flatMap((draft) => (draft.personId === null ? [] : [draft.personId])))];
  // One draft travels as one row of values rather than as arrays: PostgreSQL then estimates one row
  // whether it plans for the values given or generically, so the named statement (prepared-statements.ts)
  // settles on one generic plan instead of being planned again for every ingest.
  const single = drafts.length === 1 ? drafts[0] : undefined;
  const rows = await query(
    em,
    sql<{ source_exists: boolean; queued: boolean; id: string; person_known: boolean; created_at: string | null; existing_id: string | null }>`
      with "source" as (
        select "id" from "feedback_source" where "id" = ${sourceId} and "organization_id" = ${organizationId}
      ), "person" as (
        select "id" from "person" where "organization_id" = ${organizationId} and ${single ? sql`"id" = ${single.personId}::bigint` : sql`"id" = any(${personIds}::bigint[])`}
      ), "input" as (
        select nextval(pg_get_serial_sequence('feedback_record', 'id')) as "id", u.*,
          u."person_id" is null or u."person_id" in (select "id" from "person") as "person_known"
        from ${
          single
            ? sql`(values (${single.personId}::bigint, ${single.externalId}::text, ${single.displayTs.toISOString()}::timestamptz, ${JSON.stringify(single.fields)}::jsonb, 1::bigint))`
            : sql`unnest(${column((draft) => draft.personId)}::bigint[], ${column((draft) => draft.externalId)}::text[],
          ${column((draft) => draft.displayTs.toISOString())}::timestamptz[], ${column((draft) => JSON.stringify(draft.fields))}::jsonb[]) with ordinality`
        } as u("person_id", "external_id", "display_ts", "fields", "ord")
      ), "inserted" as (
        insert into "feedback_record" ("id", "organization_id", "source_id", "person_id", "external_id", "display_ts", "fields", "created_at")
        select i."id", ${organizationId}, s."id", i."person_id", i."external_id", i."display_ts", i."fields", now()
        from "input" i cross join "source" s where i."person_known" order by i."ord"
        on conflict ("organization_id", "source_id", "external_id") do nothing
        returning "id", "created_at"
      ), "outbox" as (
        -- Webhook events commit with the records they describe: a message per record and endpoint that wants it.
        ${outboxInsert(organizationId, {
          type: 'feedback_record.created',
          about: sql`"inserted" n join "input" i on i."id" = n."id"`,
          sourceId: sql`${sourceId}::bigint`,
          data: sql`jsonb_build_object('id', n."id", 'source_id', ${sourceId}::bigint, 'person_id', i."person_id", 'external_id', i."external_id",
            'display_ts', ${restInstant(sql`i."display_ts"`)}, 'fields', i."fields", 'created_at', ${restInstant(sql`n."created_at"`)})`,
          createdAt: sql`n."created_at"`,
        })}
        returning 1
      )
      select exists (select 1 from "source") as "source_exists", exists (select 1 from "outbox") as "queued", i."id", i."person_known", n."created_at",
        (select e."id" from "feedback_record" e
          where n."id" is null and e."organization_id" = ${organizationId} and e."source_id" = ${sourceId} and e."external_id" = i."external_id") as "existing_id"
      from "input" i left join "inserted" n on n."id" = i."id"
      order by i."ord"`,
    { prepared: true },
  );
  const sourceExists = rows[0]?.source_exists ?? false;
  if (rows[0]?.queued) noteQueuedMessages();
  return {
    sourceExists,
    drafts: rows.map((row, index) => {
      const draft = drafts[index] as RecordDraft;
      const existingId = row.existing_id === null ? null : Number(row.existing_id);
      if (row.created_at === null) return { record: null, personKnown: row.person_known, existingId };
      const record = new FeedbackRecordView({
        id: Number(row.id),
        sourceId,
        personId: draft.personId,
        externalId: draft.externalId,
        displayTs: draft.displayTs,
        fields: draft.fields,
        createdAt: readTimestamp(em, row.created_at),
      });
      return { record, personKnown: true, existingId: null };
    }),
  };
}

/** For duplicates a concurrent request stored after `insertRecords` took its snapshot. */
export async function findRecordIdsByExternalIds(em: EntityManager, organizationId: number, sourceId: number, externalIds: string[]): Promise<Map<string, number>> {
  if (externalIds.length === 0) return new Map();
  const rows = await query(
    em,
    sql<{ id: string; external_id: string }>`select "id", "external_id" from "feedback_record"
      where "organization_id" = ${organizationId} and "source_id" = ${sourceId} and "external_id" = any(${externalIds}::text[])`,
  );
  return new Map(rows.map((row) => [row.external_id, Number(row.id)]));
}

/**
 * One statement: deletes the record and answers the source it belonged to, or, when nothing was
 * deleted under `sourceId`, whether that source exists, so the caller can name what is missing.
 */
export async function deleteRecordById(em: EntityManager, organizationId: number, id: number, sourceId: number | null): Promise<{ deletedFrom: number | null; sourceExists: boolean }> {
  const [row] = await query(
    em,
    sql<{ deleted_from: string | null; source_exists: boolean; queued: boolean }>`with "deleted" as (
        delete from "feedback_record" where "id" = ${id} and "organization_id" = ${organizationId} ${sourceId === null ? sql`` : sql`and "source_id" = ${sourceId}`}
        returning "id", "source_id"
      ), "outbox" as (
        ${outboxInsert(organizationId, { type: 'feedback_record.deleted', about: sql`"deleted" d`, sourceId: sql`d."source_id"`, data: sql`jsonb_build_object('id', d."id", 'source_id', d."source_id")` })}
        returning 1
      )
      select (select "source_id" from "deleted") as "deleted_from", exists (select 1 from "outbox") as "queued",
        ${sourceId === null ? sql`true` : sql`exists (select 1 from "feedback_source" where "id" = ${sourceId} and "organization_id" = ${organizationId})`} as "source_exists"`,
  );
  const deletedFrom = row?.deleted_from ?? null;
  if (row?.queued) noteQueuedMessages();
  return { deletedFrom: deletedFrom === null ? null : Number(deletedFrom), sourceExists: row?.source_exists ?? false };
}
