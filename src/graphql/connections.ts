import { builder } from './builder.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.ts';

/** `first` and `after` of every list, described once. */
export const pageArgs = builder.args((t) => ({
  first: t.int({ description: `How many items the page holds, 1 to ${MAX_PAGE_SIZE}; defaults to ${DEFAULT_PAGE_SIZE}.` }),
  after: t.string({ description: 'Starts the page after this cursor (the previous page\'s endCursor); omitted, at the start of the list.' }),
}));
