import type { CursorKey, Keyset, Page } from '../database/keyset.ts';
import { ValidationError } from '../errors/api-error.ts';
import { describeValue } from '../validation/values.ts';

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** The opaque cursor of a row's key: its JSON in base64url. */
function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key a cursor holds, when it is one this API could have written. */
function decodeCursor(cursor: string): CursorKey | null {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const valid = Array.isArray(key) && key.every((part) => typeof part === 'string' || Number.isSafeInteger(part));
    return valid && encodeCursor(key) === cursor ? key : null;
  } catch {
    return null;
  }
}

/** Validates `first` (1–100, default 25) and reads `after` as a position of the listing ordered by `keyset`. */
export function readPage<Position>(args: PageArgs, keyset: Keyset<never, Position>): Page<Position> {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new ValidationError('INVALID_FIELD_VALUE', { param: 'first', message: (n) => `${n('first')} must be between 1 and ${MAX_PAGE_SIZE}; got ${describeValue(args.first)}.` });
  }
  if (args.after === null || args.after === undefined) return { limit: first, after: null };
  const key = decodeCursor(args.after);
  const after = key && keyset.positionOf(key);
  if (after === null) throw new ValidationError('INVALID_CURSOR', { param: 'after', message: (n) => `${n('after')} is not a cursor this API returned: ${describeValue(args.after)}.` });
  return { limit: first, after };
}

/** An edge whose cursor is written only when read: a page read without `cursor` selected writes two, for pageInfo. */
class Edge<T> {
  readonly node: T;
  readonly #cursor: () => string;

  constructor(node: T, cursor: () => string) {
    this.node = node;
    this.#cursor = cursor;
  }

  get cursor(): string {
    return this.#cursor();
  }
}

export interface Connection<T> {
  edges: { readonly cursor: string; readonly node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** Counts the whole list with a statement of its own; called only when a client selects totalCount. */
  countAll: (() => Promise<number>) | null;
}

/**
 * `rows` were fetched with `limit + 1` so that one extra row tells whether a next page exists.
 * `countAll` counts every row of the listing, whatever the page.
 */
export function toConnection<T, Position>(rows: T[], page: Page<Position>, keyset: Keyset<T, Position>, countAll: (() => Promise<number>) | null = null): Connection<T> {
  const nodes = rows.slice(0, page.limit);
  const edges = nodes.map((node) => new Edge(node, () => encodeCursor(keyset.keyOf(node))));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > page.limit,
      hasPreviousPage: page.after !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    countAll,
  };
}

/** The same page with each node replaced by `nodeOf` of it (cursors stay those of the rows read). */
export function mapNodes<T, U>(connection: Connection<T>, nodeOf: (node: T) => U): Connection<U> {
  return { ...connection, edges: connection.edges.map((edge) => new Edge(nodeOf(edge.node), () => edge.cursor)) };
}
