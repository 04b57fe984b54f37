import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.ts';
import './scalars.ts';
import '../errors/error.graphql.ts';
import '../organizations/viewer.graphql.ts';
import '../sources/source.graphql.ts';
import '../people/person.graphql.ts';
import '../records/record.graphql.ts';
import '../records/record-stats.graphql.ts';
import '../webhooks/webhook.graphql.ts';

export const schema = builder.toSchema();

/** The text committed as schema.graphql; sorted so it changes only when the schema does. */
export function printSchemaText(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
