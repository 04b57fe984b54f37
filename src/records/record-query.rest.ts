import { graphql } from '../graphql/typed-document.ts';
import { restResource } from '../rest/resource.ts';
import { restPath } from '../rest/route.ts';
import { idParam } from '../rest/schemas.ts';
import docs from './record-query.openapi.json' with { type: 'json' };
import { FeedbackRecordSchema, listFilters, RecordFields, toRestRecord } from './record.rest.ts';

// The organization's records across its sources: the same list as a source's, with source_id as a filter.

const ListAllRecords = graphql(`query listAllRecords($sourceId: ID, $personId: ID, $since: DateTime, $until: DateTime, $first: Int, $after: String,
  $field: FeedbackRecordFilter, $order: [FeedbackRecordOrder!], $includeTotal: Boolean = false) {
  records(sourceId: $sourceId, personId: $personId, since: $since, until: $until, filter: $field, orderBy: $order, first: $first, after: $after) {
    totalCount @include(if: $includeTotal) edges { node { ...RecordFields } } pageInfo { hasNextPage endCursor }
  }
}`, [RecordFields]);

export const recordQueryRoutes = restResource(docs, {
  scopes: { read: 'records:read', write: 'records:write' },
  paths: [restPath('/records', {}), restPath('/records/{record_id}', { record_id: idParam('The record id.') }, { record_id: 'id' })],
  item: [FeedbackRecordSchema, toRestRecord],
}).routes((records) => [
  records.list({ source_id: idParam('Only records of this source.').optional(), ...listFilters }, ListAllRecords, ['FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND']),
]);
