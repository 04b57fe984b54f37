import type { ParamNamer } from '../errors/api-error.ts';

/** `displayTs` → `display_ts`: GraphQL names are camelCase, REST ones snake_case. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** A zod issue path as a param: ['fields', 2, 'value'] → `fields[2].value`. */
export function paramOfPath(path: readonly PropertyKey[], root: string): string {
  if (path.length === 0) return root;
  return path.reduce<string>((param, key) => (typeof key === 'number' ? `${param}[${key}]` : param ? `${param}.${String(key)}` : String(key)), '');
}

/**
 * How a route spells the GraphQL layer's params: arguments it takes from the path or query under
 * other names are renamed (`sourceId` → `id`, `after` → `cursor`), every segment becomes snake_case.
 */
export function restNamer(renames: Readonly<Record<string, string>>): ParamNamer {
  return (param) => {
    const [head = '', ...rest] = param.split('.');
    return [head.replace(/^[^[]+/, (name) => renames[name] ?? snakeCase(name)), ...rest.map(snakeCase)].join('.');
  };
}

/** The top-level keys of a REST body as GraphQL input names (`display_ts` → `displayTs`); values untouched. */
export function camelCaseKeys(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).map(([key, value]) => [key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()), value]));
}

export interface ConnectionData<T> {
  edges: { node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** A Relay connection as a REST list page: `{ data, next_cursor }`. */
export function toPage<T, R>(connection: ConnectionData<T>, toItem: (node: T) => R): { data: R[]; next_cursor: string | null } {
  return { data: connection.edges.map((edge) => toItem(edge.node)), next_cursor: connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null };
}

export function pageVariables(query: { limit?: string | undefined; cursor?: string | undefined }): { first?: number; after?: string } {
  return { ...(query.limit ? { first: Number(query.limit) } : {}), ...(query.cursor ? { after: query.cursor } : {}) };
}
