import type { ParamNamer } from '../errors/api-error.ts';

// REST speaks snake_case (`display_ts`), GraphQL camelCase (`displayTs`). Request keys are turned into
// GraphQL's names on their way in and error params back into REST's on their way out, here only.

/** REST names that are other words in GraphQL, e.g. `{ limit: 'first' }`. */
export type Renames = Readonly<Record<string, string>>;

/** A list's page parameters are GraphQL's connection arguments. */
export const PAGE_NAMES = { limit: 'first', cursor: 'after' } as const;

/** `display_ts` → `displayTs`, as a type. */
type CamelCase<Name extends string> = Name extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : Name;

/** An object of REST keys with GraphQL's names: renamed where `R` says, else camelCase. */
export type GraphQLNames<T extends object, R extends Renames = Record<never, string>> = {
  [K in keyof T as K extends keyof R ? R[K] : K extends string ? CamelCase<K> : K]: T[K];
};

/** `displayTs` → `display_ts`. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** `display_ts` → `displayTs`. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * The top-level keys of a checked request part (path, query or body) in GraphQL's names; values are
 * untouched (a record field's value is the client's own JSON).
 */
export function toGraphQLNames<T extends object, const R extends Renames = Record<never, string>>(value: T, renames?: R): GraphQLNames<T, R> {
  const renamed = Object.fromEntries(Object.entries(value).map(([key, item]) => [renames?.[key] ?? camelCase(key), item]));
  // GraphQLNames states what the line above does to the keys; the type checker cannot follow string edits.
  return renamed as GraphQLNames<T, R>;
}

/** A zod issue path as a param: ['fields', 2, 'value'] → `fields[2].value`. */
export function paramOfPath(path: readonly PropertyKey[], root: string): string {
  if (path.length === 0) return root;
  return path.reduce<string>((param, key) => (typeof key === 'number' ? `${param}[${key}]` : param ? `${param}.${String(key)}` : String(key)), '');
}

/**
 * How a route spells the GraphQL layer's params: arguments it takes from the path or query under
 * other names are named as the client sent them (`sourceId` → `id`, `after` → `cursor`), every other
 * segment becomes snake_case. `renames` maps REST names to GraphQL's, as requests are converted.
 */
export function restNamer(renames: Renames): ParamNamer {
  const restNames = new Map(Object.entries(renames).map(([rest, graphql]) => [graphql, rest]));
  return (param) => {
    const [head = '', ...rest] = param.split('.');
    return [head.replace(/^[^[]+/, (name) => restNames.get(name) ?? snakeCase(name)), ...rest.map(snakeCase)].join('.');
  };
}
