import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './introspection.ts';

/**
 * `graphql(...)` parses a document and types its variables and result from the schema, so the REST
 * routes that run it are checked against the schema by the compiler. IDs are strings in results and
 * strings or integers in variables, as GraphQL's ID accepts; fragments are read in place (no masking).
 */
export const graphql = initGraphQLTada<{
  introspection: typeof introspection;
  scalars: { DateTime: string; JSON: unknown; ID: string | number };
  disableMasking: true;
}>();

export type { ResultOf, TadaDocumentNode, VariablesOf } from 'gql.tada';
