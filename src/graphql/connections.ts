import { builder } from './builder.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';

/** `first` and `after` of every list, described once. */
export const pageArgs = builder.args((t) => ({
  first: t.int({ description: `How many items the page holds, 1 to ${MAX_PAGE_SIZE}; defaults to ${DEFAULT_PAGE_SIZE}.` }),
  after: t.string({ description: 'Starts the page after this cursor (the previous page\'s endCursor); omitted, at the start of the list.' }),
}));

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** The count a connection was built with (pagination.ts toConnection), run only when totalCount is resolved. */
async function countOf(connection: object): Promise<number> {
  const countAll = 'countAll' in connection ? connection.countAll : null;
  if (typeof countAll !== 'function') throw new Error('A counted connection was built without its count');
  const count: unknown = await countAll();
  if (typeof count !== 'number') throw new Error('A connection\'s count is not a number');
  return count;
}

/** `totalCount` of a connection: a statement of its own, run only when the field is selected. */
export function totalCountField<Parent extends object>(t: PothosSchemaTypes.ObjectFieldBuilder<Types, Parent>, items: string) {
  return t.int({
    description: `How many ${items} the whole list holds, every page together. Counted by a statement of its own, only when selected.`,
    resolve: (connection) => countOf(connection),
  });
}
