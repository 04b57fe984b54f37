import { defineEntity, p } from '@mikro-orm/core';
import { Organization } from '../organizations/organization.entity.ts';
import { Person } from '../people/person.entity.ts';
import { FeedbackSource } from '../sources/source.entity.ts';
import type { RecordField } from './record-fields.ts';
import { SEARCH_DOCUMENT } from './record-filter.ts';

const FeedbackRecordSchema = defineEntity({
  name: 'FeedbackRecord',
  uniques: [{ name: 'feedback_record_source_external_id_unique', properties: ['organization', 'source', 'externalId'] }],
  indexes: [
    // Serves the newest-first listing of a source's records (keyset pagination).
    { name: 'feedback_record_source_display_ts_index', properties: ['source', 'displayTs', 'id'] },
    { name: 'feedback_record_person_display_ts_index', properties: ['person', 'displayTs', 'id'] },
    { name: 'feedback_record_organization_display_ts_index', properties: ['organization', 'displayTs', 'id'] },
    // Answers the containment (`fields @> [{"name": …, "value": …}]`) each field predicate of a filter carries.
    { name: 'feedback_record_fields_index', expression: 'create index "feedback_record_fields_index" on "feedback_record" using gin ("fields" jsonb_path_ops)' },
    // Full-text search of the content fields (records' search argument).
    { name: 'feedback_record_search_vector_index', expression: 'create index "feedback_record_search_vector_index" on "feedback_record" using gin ("search_vector")' },
  ],
  properties: {
    id: p.bigint('number').primary(),
    organization: () => p.manyToOne(Organization).deleteRule('cascade'),
    // No cascade: a source with records is only deleted on purpose (FEEDBACK_SOURCE_NOT_EMPTY).
    source: () => p.manyToOne(FeedbackSource).deleteRule('no action'),
    // Deleting a person keeps their feedback, unlinked (SPEC §6).
    person: () => p.manyToOne(Person).nullable().deleteRule('set null'),
    externalId: p.string().length(255).nullable(),
    displayTs: p.datetime(),
    fields: p.json<RecordField[]>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    // What search reads, kept by the database with every write: ranking reads it instead of computing it per row.
    searchVector: p.type('tsvector').generated(`(${SEARCH_DOCUMENT('"fields"')}) stored`).lazy().hidden(),
  },
});

export class FeedbackRecord extends FeedbackRecordSchema.class {}
FeedbackRecordSchema.setClass(FeedbackRecord);
export { FeedbackRecordSchema };
