import { type JITCache, useGraphQlJit } from '@envelop/graphql-jit';
import {
  BREAK,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  getNamedType,
  type GraphQLInputObjectType,
  isAbstractType,
  isInputObjectType,
  Kind,
  type OperationDefinitionNode,
  OperationTypeNode,
  visit,
} from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import type { Context } from './context.ts';
import { schema } from './schema.ts';

/** Documents kept compiled at once; a client sending endless distinct queries only evicts older ones. */
const COMPILED_DOCUMENTS = 1_000;

/**
 * graphql-jit calls `resolveType(value, context, info)` without the abstract type that graphql-js passes
 * fourth, and the resolvers Pothos generates for unions and interfaces rely on it: each is given its own
 * type when the caller leaves it out.
 */
for (const type of Object.values(schema.getTypeMap())) {
  if (!isAbstractType(type) || !type.resolveType) continue;
  const resolveType = type.resolveType;
  type.resolveType = (value, context, info, abstractType) => resolveType(value, context, info, abstractType ?? type);
}

/** Input types that contain themselves (a filter's `and`, `or`, `not`). */
const recursiveInputTypes = new Set(
  Object.values(schema.getTypeMap())
    .filter(isInputObjectType)
    .filter((type) => {
      const seen = new Set<GraphQLInputObjectType>();
      const reaches = (from: GraphQLInputObjectType): boolean =>
        Object.values(from.getFields()).some((field) => {
          const named = getNamedType(field.type);
          if (!isInputObjectType(named)) return false;
          if (named === type) return true;
          if (seen.has(named)) return false;
          seen.add(named);
          return reaches(named);
        });
      return reaches(type);
    })
    .map((type) => type.name),
);

/**
 * Whether graphql-jit cannot carry the document: it asks for the schema (`__schema`, `__type`;
 * `__typename` is an ordinary field), or names an input type that contains itself, into which
 * graphql-jit's variable parser recurses without end.
 */
function needsInterpreter(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(field) {
      if (field.name.value !== '__schema' && field.name.value !== '__type') return undefined;
      found = true;
      return BREAK;
    },
    NamedType(node) {
      if (!recursiveInputTypes.has(node.name.value)) return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

/** Yoga's parser cache hands back the same document for the same text: each is looked at once. */
const compilable = new WeakMap<DocumentNode, boolean>();

/** One operation: a query, or a mutation of a single root field (every REST write, most clients' mutations). */
function isSingleQueryOrWrite(operation: OperationDefinitionNode | undefined): boolean {
  if (operation?.operation === OperationTypeNode.QUERY) return true;
  const roots = operation?.operation === OperationTypeNode.MUTATION ? operation.selectionSet.selections : [];
  return roots.length === 1 && roots[0]?.kind === Kind.FIELD;
}

/**
 * Only documents of one query, or of one mutation with a single root field, are compiled. The plugin
 * caches by document, not by operation name, so a document of several operations would be answered
 * with the wrong one; and compiled mutations of several root fields keep running after one failed,
 * where the interpreter stops (a later write would commit unseen behind `data: null`). Introspection
 * stays interpreted too: graphql-jit does not apply the default of graphql 17's non-null
 * `includeDeprecated` arguments and refuses GraphiQL's and code generators' introspection query, which
 * is neither hot nor worth a compiled copy. Documents with a variable of a recursive input type (a
 * records filter) are interpreted too.
 */
function isCompilable(document: DocumentNode): boolean {
  let answer = compilable.get(document);
  if (answer === undefined) {
    const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    answer = operations.length === 1 && isSingleQueryOrWrite(operations[0]) && !needsInterpreter(document);
    compilable.set(document, answer);
  }
  return answer;
}

/** /graphql runs each query as code compiled once (graphql-jit) instead of interpreting it field by field. */
export function useCompiledExecution() {
  const cache: JITCache = new LRUCache<string, Parameters<JITCache['set']>[1]>({ max: COMPILED_DOCUMENTS });
  return useGraphQlJit({}, { cache, enableIf: (args: ExecutionArgs) => isCompilable(args.document) });
}

type CompiledOperation = (variables: Record<string, unknown>, context: Context) => Promise<ExecutionResult>;

/** Compiles a REST route's document when the route table loads, so requests only run it. */
export function compileOperation(document: DocumentNode): CompiledOperation {
  if (!isCompilable(document)) return async (variables, context) => await execute({ schema, document, variableValues: variables, contextValue: context });
  const compiled = compileQuery(schema, document);
  if (!isCompiledQuery(compiled)) throw new Error(`REST operation does not compile: ${compiled.errors?.map((error) => error.message).join('; ')}`);
  return async (variables, context) => await compiled.query(undefined, context, variables);
}
