import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { type DocumentNode, GraphQLError, type GraphQLSchema, getOperationAST, Kind, type SelectionSetNode } from 'graphql';
import { type ComplexityEstimatorArgs, getComplexity } from 'graphql-query-complexity';
import type { Plugin } from 'graphql-yoga';
import { ValidationError } from '../errors/api-error.ts';
import { errorBody } from '../http/error-envelope.ts';
import type { Context } from './context.ts';
import { DEFAULT_PAGE_SIZE } from './pagination.ts';

export const QUERY_LIMITS = { tokens: 2000, depth: 12, aliases: 20, cost: 20_000 } as const;

/**
 * Each field costs 1; a connection costs its page size times what each node asks for, and nodes(nodeIds)
 * the number of its ids times what each asks for, so nesting lists multiplies, as the database work does.
 */
function connectionAwareCost({ args, childComplexity, field, node }: ComplexityEstimatorArgs): number {
  if (Array.isArray(args.nodeIds)) return 1 + args.nodeIds.length * childComplexity;
  // A count is one statement per connection, whatever the page size: it is added here, not per node.
  if (field.name === 'totalCount') return 0;
  const isConnection = String(field.type).replace(/!$/, '').endsWith('Connection');
  const pageSize = typeof args.first === 'number' ? args.first : DEFAULT_PAGE_SIZE;
  const scans =
    predicatesOf(args.filter) * SCAN_COSTS.predicate + (typeof args.search === 'string' ? SCAN_COSTS.search : 0) + (field.name === 'recordStats' ? SCAN_COSTS.statistics : 0);
  const counted = isConnection && selectsTotalCount(node.selectionSet) ? SCAN_COSTS.totalCount : 0;
  return 1 + scans + counted + (isConnection ? pageSize * childComplexity : childComplexity);
}

/**
 * What reading more than a page costs: each predicate of a filter (it is checked on every row it
 * reads), a full-text search, a connection's totalCount (it reads every row the filter matches) and statistics.
 */
const SCAN_COSTS = { predicate: 20, search: 200, totalCount: 500, statistics: 2_000 } as const;

/** How many predicates a records filter holds, through and, or and not. */
function predicatesOf(filter: unknown): number {
  if (typeof filter !== 'object' || filter === null) return 0;
  let count = 0;
  for (const [key, value] of Object.entries(filter)) {
    if (key === 'and' || key === 'or') count += Array.isArray(value) ? value.reduce<number>((sum, item) => sum + predicatesOf(item), 0) : 0;
    else if (key === 'not') count += predicatesOf(value);
    else if (key === 'fields') count += Array.isArray(value) ? value.length : 0;
    else if (value !== null && value !== undefined) count += 1;
  }
  return count;
}

function selectsTotalCount(selectionSet: SelectionSetNode | undefined): boolean {
  return (selectionSet?.selections ?? []).some((selection) =>
    selection.kind === Kind.FIELD ? selection.name.value === 'totalCount' : selection.kind === Kind.INLINE_FRAGMENT && selectsTotalCount(selection.selectionSet),
  );
}

/** Costs measured per parsed document (the parser's cache keeps one per query text), by operation and variables. */
const costs = new WeakMap<DocumentNode, Map<string, number>>();
/** Variable sets remembered per document: a dashboard polls with a few; a client paging through many is measured each time past these. */
const MAX_COSTS_PER_DOCUMENT = 100;

/**
 * A query's cost, measured once per document, operation and variables: reads repeat (a dashboard's
 * polls, a client's pages), and measuring walks the whole document. Mutations carry their data in
 * their variables, so they are measured each time.
 */
function knownCost(document: DocumentNode, operationName: string | null | undefined, variables: unknown, measure: () => number): number {
  const key = `${operationName ?? ''}\n${JSON.stringify(variables ?? {})}`;
  let known = costs.get(document);
  if (!known) {
    known = new Map();
    costs.set(document, known);
  }
  const remembered = known.get(key);
  if (remembered !== undefined) return remembered;
  const cost = measure();
  if (known.size < MAX_COSTS_PER_DOCUMENT) known.set(key, cost);
  return cost;
}

/** The request-level error of SPEC §9 for an abusive query: 400, QUERY_TOO_COMPLEX, the envelope's fields. */
function tooComplex(message: string, ctx: Pick<Context, 'requestId' | 'publicUrl'>): GraphQLError {
  const error = new ValidationError('QUERY_TOO_COMPLEX', { message });
  return new GraphQLError(message, { extensions: { ...errorBody(error, ctx.requestId, ctx.publicUrl), http: { status: 400 } } });
}

/**
 * Tokens (while parsing), depth and aliases (while validating) with graphql-armor; cost with
 * graphql-query-complexity before execution. A refused query never reaches a resolver.
 */
export function queryLimitPlugins(schema: GraphQLSchema, publicUrl: string): Plugin<Context>[] {
  const refusals = new WeakSet<Error>();
  const remember = (_context: unknown, error: Error) => refusals.add(error);
  return [
    maxTokensPlugin({ n: QUERY_LIMITS.tokens, onReject: [remember] }),
    maxDepthPlugin({ n: QUERY_LIMITS.depth, onReject: [remember] }),
    maxAliasesPlugin({ n: QUERY_LIMITS.aliases, onReject: [remember] }),
    {
      onExecute: ({ args, setResultAndStopExecution }) => {
        const measure = () =>
          getComplexity({
            schema,
            query: args.document,
            variables: (args.variableValues ?? {}) as Record<string, unknown>,
            operationName: args.operationName ?? undefined,
            estimators: [connectionAwareCost],
          });
        const cost = getOperationAST(args.document, args.operationName)?.operation === 'query' ? knownCost(args.document, args.operationName, args.variableValues, measure) : measure();
        if (cost > QUERY_LIMITS.cost) {
          const message = `The query costs ${cost}, over the limit of ${QUERY_LIMITS.cost}: ask for smaller pages (first) or fewer nested lists.`;
          setResultAndStopExecution({ errors: [tooComplex(message, args.contextValue as Context)] });
        }
      },
    },
    {
      // graphql-armor's refusals carry no extensions; give them the envelope's fields and status 400.
      onResultProcess: ({ result, setResult, serverContext }) => {
        if (Array.isArray(result) || !('errors' in result) || !result.errors) return;
        const req = (serverContext as { req?: { id: string } }).req;
        const errors = result.errors.map((error) => {
          const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
          if (!refusals.has(original) && !refusals.has(error)) return error;
          return tooComplex(error.message.replace(/^Syntax Error: /, ''), { requestId: req?.id ?? '', publicUrl });
        });
        setResult({ ...result, errors });
      },
    },
  ];
}
