import { type DocumentNode, type ExecutionResult, parse, validate } from 'graphql';
import { type CompiledOperation, compileOperation } from '../graphql/compiled.ts';
import type { Context } from '../graphql/context.ts';
import { schema } from '../graphql/schema.ts';

const compiledOperations = new WeakMap<DocumentNode, CompiledOperation>();

/** What every REST operation selects on a mutation's union, so failures map onto the error envelope. */
export const ERROR_FIELDS = `fragment ErrorFields on Error {
  type code message param suggestion retryable
  ... on ValidationError { errors { param code message } }
}`;

/**
 * Parses, validates and compiles a route's GraphQL document once, when the route table loads: a route
 * that no longer matches the schema stops start-up (and the tests) instead of failing on its first
 * request, and requests only run compiled code.
 */
export function operation(source: string): DocumentNode {
  const document = parse(source.includes('...ErrorFields') ? `${source}\n${ERROR_FIELDS}` : source);
  const errors = validate(schema, document);
  if (errors.length > 0) throw new Error(`Invalid REST operation: ${errors.map((error) => error.message).join('; ')}\n${source}`);
  compiledOperations.set(document, compileOperation(document));
  return document;
}

export async function executeOperation(document: DocumentNode, variables: Record<string, unknown>, context: Context): Promise<ExecutionResult> {
  const run = compiledOperations.get(document);
  if (!run) throw new Error('REST operation used without operation(): it was never validated or compiled');
  return await run(variables, context);
}
