import { type ExecutionResult, print, validate } from 'graphql';
import { compileOperation } from '../graphql/compiled.ts';
import type { Context } from '../graphql/context.ts';
import { schema } from '../graphql/schema.ts';
import type { TadaDocumentNode } from '../graphql/typed-document.ts';

export type Variables = Record<string, unknown>;

/** A route's GraphQL document, ready to run with the variables and result its types describe. */
export type Operation<R, V extends Variables> = (variables: V, context: Context) => Promise<ExecutionResult<R>>;

/**
 * Validates and compiles a route's GraphQL document once, when the route table loads: a route that no
 * longer matches the schema stops start-up (and the tests) instead of failing on its first request,
 * and requests only run compiled code.
 */
export function prepareOperation<R, V extends Variables>(document: TadaDocumentNode<R, V>): Operation<R, V> {
  const errors = validate(schema, document);
  if (errors.length > 0) throw new Error(`Invalid REST operation: ${errors.map((error) => error.message).join('; ')}\n${print(document)}`);
  const run = compileOperation(document);
  // The executor types data by no document; this document was validated against the schema it runs
  // on, so its data has the shape the document's types were read from.
  return async (variables, context) => (await run(variables, context)) as ExecutionResult<R>;
}
